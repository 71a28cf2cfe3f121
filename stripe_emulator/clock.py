"""The emulator clock: wall-clock time plus an offset that tests can advance."""

import time

DAY = 86400


class Clock:
    def __init__(self, offset=0):
        self.offset = int(offset)

    def now(self):
        return int(time.time()) + self.offset

    def advance(self, seconds):
        self.offset += int(seconds)
        return self.now()
