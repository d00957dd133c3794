"""The indexes analytics reads use exist on every monthly partition of `orders` (an index
created on the partitioned parent cascades to each partition, those made later included)."""

from __future__ import annotations

from sqlalchemy import text

from server.db import Database

ORDER_INDEXES = ("ix_orders_event_id_status", "ix_orders_event_id_confirmed_at")


async def test_the_analytics_indexes_span_every_partition_of_orders(db: Database) -> None:
    async with db.transaction() as session:
        # A month the migration did not create: the maintenance job's path.
        await session.execute(
            text("SELECT eventapi_create_month_partition('orders', '2031-01-01')")
        )
        partitions = set(
            await session.scalars(
                text(
                    "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'orders'::regclass"
                )
            )
        )
        assert "orders_y2031m01" in partitions and "orders_default" in partitions
        for name in ORDER_INDEXES:
            covered = set(
                await session.scalars(
                    text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid "
                        "JOIN pg_class c ON c.oid = x.indrelid WHERE i.inhparent = CAST(:ix AS regclass)"
                    ),
                    {"ix": name},
                )
            )
            assert covered == partitions, name
        await session.rollback()
