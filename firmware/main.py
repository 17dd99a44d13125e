# Wiring only: the app builds its hardware from board.json and pod.json on the pod.
from heavylegs_pod.app import main

main()
