"""What the settlement agent does when the group hands its partitions over or gives it new ones."""

from __future__ import annotations

from typing import Any

from aiokafka.abc import ConsumerRebalanceListener


class RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Finishes and commits before partitions go; recovers state before new ones are read.

    aiokafka logs and swallows a listener's exception: it is handed to the agent
    (``agent.fail``) so that ``run()`` raises it.

    Args:
        agent: the :class:`streams.agents.SettlementAgent`.
    """

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    async def on_partitions_revoked(self, revoked: Any) -> None:
        agent = self.agent
        # Wait for the batch in hand to be acknowledged and committed.
        agent.ready.clear()
        try:
            async with agent._lock:
                await agent.drain()
                await agent.commit_now()
        except Exception as exc:
            agent.fail(exc)
        # A worker reports only what it owns: the next owner reports these partitions.
        agent.metrics.forget_partitions((tp.topic, tp.partition) for tp in revoked)
        kept = set(agent.shards) - {tp.partition for tp in revoked}
        agent.metrics.partitions.set(len(kept))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        agent = self.agent
        try:
            async with agent._lock:
                await agent._on_assigned(assigned)
        except Exception as exc:
            agent.fail(exc)
