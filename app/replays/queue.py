"""The replays table as a queue: a replay is one job, run in batches by the replay worker."""

from app.queue.queue import Queue
from app.replays.models import Replay

REPLAYS = Queue(Replay.__table__)  # type: ignore[arg-type]

#: Claims of one replay before it is given up (each crash or lost lease is one).
MAX_REPLAY_ATTEMPTS = 10
