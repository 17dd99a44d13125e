"""The one path from sensor samples to strides: a FIFO burst through the engine.

The pod's sensor task, the firmware tests, the speed bench and host reprocessing
all drain samples through SampleStream, so the loop the allocation proof locks is
the loop the pod runs.

A source is anything shaped like the LSM6DS driver: read_fifo() reads one burst
into `samples` (int16 gx gy gz ax ay az per sample) and returns how many samples
it read (0: nothing waiting), and `sample_count` is the sensor clock after the
burst, in samples.
"""


class SampleStream:
    def __init__(self, source, engine, on_stride):
        """on_stride(stride, now_n) gets the engine's stride row (valid until the
        next sample) and the sensor clock just after the sample that ended it."""
        self.source = source
        self.engine = engine
        self.on_stride = on_stride
        self.now_n = source.sample_count

    def drain(self):
        """One burst from the source through the engine (GaitEngine.feed_burst: one
        kernel call for the burst, plus one per event); returns how many samples it
        read. Allocates nothing once the engine is calibrated."""
        source = self.source
        count = source.read_fifo()
        if not count:
            return 0
        self.engine.feed_burst(source.samples, count, source.sample_count - count, self.on_stride)
        self.now_n = source.sample_count
        return count
