"""The built-in searches: `rohe-ensemble` (vectorised exhaustive), `naive` (reference) and `single-best`."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from rohe.core.contracts import ConsumerContract, EnsembleSize
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.serving.selection.base import TIE_TOLERANCE, EnsembleChoice
from rohe.serving.selection.scoring import evaluate
from rohe.serving.selection.space import allowed_indices, build_space, no_feasible
from rohe.serving.selection.vectorized import all_scores, assignments, pick


def _choice(
    name: str, contract: ConsumerContract, profiles: list[ModelProfile], score: float, candidates: int
) -> EnsembleChoice:
    described = evaluate(contract, profiles)
    if described is None:  # only reachable if the two scorers disagree on feasibility: a bug, not bad input
        raise RuntimeError(f"{name}: the chosen ensemble does not evaluate as feasible")
    _, outcomes, members, cost = described
    return EnsembleChoice(name, members, outcomes, score, cost, candidates)


class RoheEnsemble:
    """Every ensemble of min..max models x every assignment of members to node types, scored in NumPy.

    Same semantics, enumeration order and tie-break as `naive`; candidates are scored in batches of
    (model combination x node assignment) so no per-candidate Python runs.
    """

    name = "rohe-ensemble"

    def search(self, contract: ConsumerContract, catalog: ProfileCatalog) -> EnsembleChoice:
        space = build_space(contract, catalog)
        blocks = []
        for size in range(contract.ensemble.min, min(contract.ensemble.max, len(space.model_ids)) + 1):
            scores, combos, assigns = all_scores(contract, space, size)
            blocks.append((scores, combos, assigns))
        if not blocks:
            raise no_feasible(contract)
        flat = np.concatenate([b[0] for b in blocks])
        index = pick(flat, TIE_TOLERANCE)
        if index is None:
            raise no_feasible(contract)
        score = float(flat[index])
        for scores, combos, assigns in blocks:
            if index < scores.size:
                combo, assign = divmod(index, len(assigns))
                members = [
                    catalog.profile(catalog.models[space.model_ids[m]], catalog.node_types[space.node_ids[n]])
                    for m, n in zip(combos[combo], assigns[assign], strict=True)
                ]
                profiles = [p for p in members if p is not None]
                return _choice(self.name, contract, profiles, score, int(flat.size))
            index -= scores.size
        raise AssertionError("index within the concatenated blocks")


class NaiveEnumeration:
    """One Python evaluation per candidate, in the documented order: slow, plain, the reference."""

    name = "naive"

    def search(self, contract: ConsumerContract, catalog: ProfileCatalog) -> EnsembleChoice:
        model_ids, node_ids = allowed_indices(contract, catalog)
        by_pair = {(p.model, p.node_type): p for p in catalog.profiles}
        models = [catalog.models[i] for i in model_ids]
        nodes = [catalog.node_types[i] for i in node_ids]
        scored: list[tuple[float, list[ModelProfile]]] = []
        candidates = 0
        for size in range(contract.ensemble.min, contract.ensemble.max + 1):
            for combo in combinations(models, size):
                for assignment in assignments(nodes, size):
                    candidates += 1
                    found = [by_pair.get(pair) for pair in zip(combo, assignment, strict=True)]
                    usable = [p for p in found if p is not None]
                    result = evaluate(contract, usable) if len(usable) == size else None
                    if result is not None:
                        scored.append((result[0], usable))
        if not scored:
            raise no_feasible(contract)
        best = max(score for score, _ in scored)
        score, winner = next(item for item in scored if item[0] >= best - TIE_TOLERANCE)
        return _choice(self.name, contract, winner, score, candidates)


class SingleBest:
    """Baseline: the best single model on its best node type, whatever ensemble size the contract asks."""

    name = "single-best"

    def search(self, contract: ConsumerContract, catalog: ProfileCatalog) -> EnsembleChoice:
        single = contract.model_copy(update={"ensemble": EnsembleSize(min=1, max=1)})
        choice = RoheEnsemble().search(single, catalog)
        return EnsembleChoice(self.name, choice.members, choice.metrics, choice.score, choice.cost, choice.candidates)
