"""Every table Hookline owns, gathered so that Alembic and the drift test see the whole schema.

Models live in their feature folders; importing them here registers them on the shared metadata.
"""

from app.base import Base
from app.queue.schema import Worker

metadata = Base.metadata

__all__ = ["Worker", "metadata"]
