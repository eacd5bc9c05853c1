"""The demo seeder's plans for ideas, exposure, comments and votes, all in memory before any insert."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .corpus import _Theme
from .settings import BASE_COMMENTS, BASE_IDEAS, CHANGED_VOTE_SHARE, COMMENT_VOTE_SHARE, OPPOSE, REPLY_SHARE
from .traffic import _Density, _floor, _Person, _poisson, _split
from .writing import _CommentPlan, _Exposed, _IdeaPlan, _Interactions, _PhasePlan, _TopicPlan, _Writer


class _Planner:
    """The seeder's planning steps for ideas, exposure, comments and votes (mixed into _Seeder)."""

    rng: random.Random
    now: datetime
    sizes: dict[str, int]
    say: Callable[[str], None]
    corpus: dict[str, Any]
    writer: _Writer
    audit: list[dict[str, Any]]
    counts: dict[str, int]
    phases: list[_PhasePlan]
    participants: list[_Person]

    def _appeal(self, theme: _Theme) -> float:
        """An idea's hidden appeal: mostly modest, a few clear favourites, better on popular themes."""
        if self.rng.random() < 0.06:
            return self.rng.uniform(0.6, 0.85)
        return min(max(self.rng.betavariate(2, 5) * theme.appeal, 0.03), 0.9)

    def _pick_theme(self, topic: _TopicPlan) -> _Theme:
        """One of the topic's themes, by weight."""
        return self.rng.choices(topic.themes, topic.theme_weights)[0]

    def plan_ideas(self) -> None:
        """Online ideas over each phase's busy hours, plus offline, hidden and held ones."""
        rng, total = self.rng, self.sizes["ideas"]
        moderation = self.corpus["moderation"]
        n_hidden = min(max(1, round(total * 3 / BASE_IDEAS)), total)
        n_held = min(max(1, round(total * 2 / BASE_IDEAS)), total - n_hidden)
        n_offline = min(max(len(self.corpus["offline"]), round(total * 0.03)), total - n_hidden - n_held)
        n_online = total - n_hidden - n_held - n_offline
        self.ideas: list[_IdeaPlan] = []
        self.titles: dict[int, set[str]] = {}  # titles used so far in each topic
        # The named demo participants each have an idea in phase 1, and staff and student one in phase 2 too.
        named = {0: list(self.demo), 1: [p for p in self.demo if p.category in ("staff", "student")]}
        phase_counts = _split(n_online, [p.raw["share"] for p in self.phases])
        for plan, count in zip(self.phases, phase_counts, strict=True):
            # Ideas dry up near the end of a closed phase as people turn to voting on what is there.
            post_until = plan.last
            if plan.state == "closed":
                post_until = _floor(plan.opens_at + (plan.last - plan.opens_at) * 0.9)
            chosen = named.get(plan.index, [])
            positions = dict(zip(rng.sample(range(count), min(len(chosen), count)), chosen, strict=False))
            position = 0
            topic_counts = _split(count, [t.weight for t in plan.topics])
            for topic, topic_count in zip(plan.topics, topic_counts, strict=True):
                for _ in range(topic_count):
                    theme = self._pick_theme(topic)
                    author = positions.get(position)
                    position += 1
                    created = plan.activity.sample(rng, plan.opens_at, post_until)
                    if author is None:
                        author = plan.pool.pick(rng, created, allowed=theme.authors)
                    if author is None:
                        continue
                    created = max(created, author.created_at)
                    written = self._write_idea(topic, theme, author, plan.index)
                    if written is None:
                        continue
                    theme, (title, body) = written
                    self.ideas.append(_IdeaPlan(
                        phase=plan, topic=topic, theme=theme, author=author, category=author.category,
                        profession=author.profession, title=title, body=body, created_at=created,
                        visible_until=plan.last, appeal=self._appeal(theme)))
        self._plan_offline(n_offline)
        self._plan_moderated(moderation, n_hidden, n_held)
        self.ideas.sort(key=lambda idea: idea.created_at)

    def _write_idea(self, topic: _TopicPlan, theme: _Theme, author: _Person, phase_index: int,
                    offline: bool = False) -> tuple[_Theme, tuple[str, str]] | None:
        """An idea whose title is new in its topic, from this theme or else another of the topic's themes."""
        taken = self.titles.setdefault(id(topic), set())
        for candidate in [theme] + [t for t in topic.themes if t is not theme]:
            written = self.writer.idea(candidate, author, phase_index, offline=offline, taken=taken)
            if written is not None:
                taken.add(written[0])
                return candidate, written
        return None

    def _plan_offline(self, count: int) -> None:
        """Ideas a facilitator typed in from workshops and paper rounds, as they came in during working hours."""
        rng, facilitator = self.rng, self.staff["facilitator"]
        groups = self.corpus["offline"]
        for i in range(count):
            group = groups[i % len(groups)]
            plan = self.phases[group["phase"] - 1]
            topic = rng.choices(plan.topics, [t.weight for t in plan.topics])[0]
            theme = self._pick_theme(topic)
            span_days = max(1, (plan.last - plan.opens_at).days)
            created = plan.opens_at.replace(hour=10) + timedelta(days=rng.randrange(span_days),
                                                                 seconds=rng.randrange(6 * 3600))
            created = min(max(created, plan.opens_at), plan.last)
            stand_in = _Person("", "participant", group["category"], group.get("profession"), created)
            written = self._write_idea(topic, theme, stand_in, plan.index, offline=True)
            if written is None:
                continue
            theme, (title, body) = written
            self.ideas.append(_IdeaPlan(
                phase=plan, topic=topic, theme=theme, author=None, category=group["category"],
                profession=group.get("profession"), title=title, body=body, created_at=created,
                visible_until=plan.last, appeal=self._appeal(theme), channel=group["channel"],
                entered_by_id=facilitator.id, offline_event=i % len(groups)))

    def _plan_moderated(self, moderation: dict[str, Any], n_hidden: int, n_held: int) -> None:
        """Ideas a moderator hid after a few hours, and recent ones waiting in the queue."""
        rng = self.rng
        for i in range(n_hidden):
            title, body, reason = moderation["hidden_ideas"][i % len(moderation["hidden_ideas"])]
            # The advert comes from someone in private practice, so it goes to the staff phase.
            plan = self.phases[1] if i % len(moderation["hidden_ideas"]) == 0 else self.phases[0]
            topic = rng.choice(plan.topics)
            created = plan.activity.sample(rng, plan.opens_at, plan.last - timedelta(hours=1))
            author = plan.pool.pick(rng, created)
            if author is None:
                continue
            created = max(created, author.created_at)
            hidden_at = min(_floor(created + timedelta(hours=rng.uniform(2, 20))), plan.last)
            self.ideas.append(_IdeaPlan(
                phase=plan, topic=topic, theme=topic.themes[0], author=author, category=author.category,
                profession=author.profession, title=title, body=body, created_at=created,
                visible_until=hidden_at, appeal=0.05, state="hidden", reason=reason))
            self.audit.append({"actor_id": self.staff["facilitator"].id, "action": "moderation.hide",
                               "target_type": "idea", "target_id": None,
                               "detail": {"to_state": "hidden", "reason": reason}, "at": hidden_at,
                               "_idea": self.ideas[-1]})
        plan = self.phases[-1]
        for i in range(n_held):
            title, body, reason = moderation["held_ideas"][i % len(moderation["held_ideas"])]
            created = _floor(max(self.now - timedelta(hours=rng.uniform(1, 30)), plan.opens_at))
            author = plan.pool.pick(rng, created)
            if author is None:
                continue
            topic = rng.choice(plan.topics)
            self.ideas.append(_IdeaPlan(
                phase=plan, topic=topic, theme=topic.themes[0], author=author, category=author.category,
                profession=author.profession, title=title, body=body, created_at=created, visible_until=None,
                appeal=0.0, state="held", reason=reason))

    def plan_exposure(self) -> None:
        """Per phase, the chance per hour that a given visible idea is shown to someone.

        A visitor is shown a handful of the ideas visible at the time, so each idea's share of the
        traffic falls as more ideas are posted: early ideas are seen by more people.
        """
        for plan in self.phases:
            hours = len(plan.activity.weights)
            change = [0] * (hours + 1)
            for idea in self.ideas:
                if idea.phase is plan and idea.visible_until is not None:
                    change[self._hour(plan, idea.created_at)] += 1
                    change[self._hour(plan, idea.visible_until) + 1] -= 1
            visible, weights = 0, []
            for hour in range(hours):
                visible += change[hour]
                weights.append(plan.activity.weights[hour] * min(1.0, 8 / max(visible, 1)))
            plan.exposure = _Density(plan.opens_at, weights)

    @staticmethod
    def _hour(plan: _PhasePlan, moment: datetime) -> int:
        """The index of the hour of the phase this moment falls in."""
        hours = len(plan.activity.weights)
        return min(max(int((moment - plan.opens_at).total_seconds() // 3600), 0), hours - 1)

    # -- comments --

    def _exposure_of(self, plan: _PhasePlan, start: datetime, end: datetime | None) -> float:
        """How much showing an item visible from start to end gets (0 if never visible)."""
        assert plan.exposure is not None
        if end is None or end <= start:
            return 0.0
        return plan.exposure.position(end) - plan.exposure.position(start)

    def plan_comments(self) -> None:
        """Comments where ideas are seen and divisive, replies one level deep, a hidden personal attack."""
        rng = self.rng
        weights = [
            self._exposure_of(idea.phase, idea.created_at, idea.visible_until)
            * (0.5 + 3 * idea.appeal * (1 - idea.appeal)) * rng.lognormvariate(0, 0.5)
            for idea in self.ideas
        ]
        by_idea: dict[int, list[_CommentPlan]] = {}
        for index in rng.choices(range(len(self.ideas)), weights, k=self.sizes["comments"]):
            idea = self.ideas[index]
            assert idea.phase.exposure is not None and idea.visible_until is not None
            created = idea.phase.exposure.sample(rng, idea.created_at, idea.visible_until)
            by_idea.setdefault(index, []).append(_CommentPlan(idea=idea, created_at=created,
                                                              appeal=rng.betavariate(2, 4)))
        self.comments: list[_CommentPlan] = []
        for index in sorted(by_idea):
            idea = self.ideas[index]
            top_level: list[_CommentPlan] = []
            for comment in sorted(by_idea[index], key=lambda c: c.created_at):
                plan = idea.phase
                if top_level and rng.random() < REPLY_SHARE:
                    comment.parent = rng.choice(top_level)
                    assert comment.parent.author is not None
                    # Authors often answer comments on their own idea.
                    parent_author = comment.parent.author
                    if idea.author is not None and idea.author is not parent_author and rng.random() < 0.2:
                        comment.author = idea.author
                    else:
                        comment.author = plan.pool.pick(rng, comment.created_at, exclude={parent_author.id})
                else:
                    comment.author = plan.pool.pick(rng, comment.created_at)
                if comment.author is None:
                    continue
                comment.body = self.writer.comment(idea.theme, comment.author, plan.index,
                                                   reply=comment.parent is not None, idea=idea.title)
                comment.visible_until = idea.visible_until
                if comment.parent is None:
                    top_level.append(comment)
                else:
                    comment.parent.has_replies = True
                self.comments.append(comment)
        self._hide_comments()
        for comment in self.comments:
            if comment.state == "published":
                comment.idea.comments += 1

    def _hide_comments(self) -> None:
        """Hide a few top-level comments without replies from the closed phases, after a few hours."""
        rng, texts = self.rng, self.corpus["moderation"]["hidden_comments"]
        candidates = [c for c in self.comments
                      if c.parent is None and not c.has_replies and c.idea.phase.state == "closed"]
        count = min(len(candidates), max(1, round(self.sizes["comments"] / BASE_COMMENTS)))
        for i, comment in enumerate(rng.sample(candidates, count)):
            body, reason = texts[i % len(texts)]
            assert comment.visible_until is not None
            comment.body, comment.state, comment.reason, comment.appeal = body, "hidden", reason, 0.05
            comment.visible_until = min(_floor(comment.created_at + timedelta(hours=rng.uniform(2, 12))),
                                        comment.visible_until)
            self.audit.append({"actor_id": self.staff["facilitator"].id, "action": "moderation.hide",
                               "target_type": "comment", "target_id": None, "at": comment.visible_until,
                               "detail": {"to_state": "hidden", "reason": reason}, "_comment": comment})

    # -- impressions and votes --

    def plan_interactions(self) -> None:
        """Who was shown each idea and comment, and who voted on it (once, sometimes changing their mind)."""
        comment_votes = round(self.sizes["votes"] * COMMENT_VOTE_SHARE)
        self.idea_activity = self._interact(
            [(i, i.phase, i.author, i.created_at, i.visible_until, i.theme) for i in self.ideas],
            self.sizes["votes"] - comment_votes)
        self.comment_activity = self._interact(
            [(c, c.idea.phase, c.author, c.created_at, c.visible_until, c.idea.theme) for c in self.comments],
            comment_votes)

    def _interact(self, items: list[_Exposed], target_votes: int) -> _Interactions:
        """Impressions in proportion to exposure, scaled so the expected number of votes meets the target."""
        rng = self.rng
        exposures = [self._exposure_of(plan, start, end) for _, plan, _, start, end, _ in items]
        # A participant shown an item with appeal q supports it with probability q and opposes it
        # with probability OPPOSE(1 - q), so expected votes per impression is OPPOSE + (1 - OPPOSE)q.
        expected = sum(e * (OPPOSE + (1 - OPPOSE) * item[0].appeal)
                       for e, item in zip(exposures, items, strict=True))
        per_exposure = target_votes / expected if expected else 0.0
        out = _Interactions()
        for (item, plan, author, start, end, theme), exposure in zip(items, exposures, strict=True):
            if end is None or exposure <= 0:
                continue
            assert plan.exposure is not None
            cap = int(0.9 * max(plan.pool.size_at(end) - 1, 0))
            shown = min(_poisson(rng, per_exposure * exposure), cap)
            seen: set[int] = {author.id} if author is not None else set()
            for moment in sorted(plan.exposure.sample(rng, start, end) for _ in range(shown)):
                viewer = plan.pool.pick(rng, moment, exclude=seen)
                if viewer is None:
                    continue
                seen.add(viewer.id)
                item.seen += 1
                out.impressions.append((viewer.id, item, moment))
                appeal = min(0.97, item.appeal * theme.leaning.get(viewer.category, 1.0))
                roll = rng.random()
                if roll < appeal:
                    value = 1
                elif roll < appeal + OPPOSE * (1 - appeal):
                    value = -1
                else:
                    continue
                voted = min(moment + timedelta(seconds=5 + int(rng.expovariate(1 / 75))), end)
                changed = min(_floor(voted + timedelta(seconds=rng.expovariate(1 / 21600))), end)
                if rng.random() < CHANGED_VOTE_SHARE and changed > voted:
                    out.events.append((viewer, item, -value, voted))
                    out.events.append((viewer, item, value, changed))
                    out.votes.append((viewer, item, value, voted, changed))
                else:
                    out.events.append((viewer, item, value, voted))
                    out.votes.append((viewer, item, value, voted, voted))
                if value == 1:
                    item.up += 1
                else:
                    item.down += 1
        return out

    # -- writing --
