"""The authors' form (`lmc.bench.authors_form`), the reference of issue 14's CPU goal, trains
exactly as our model does: same phase losses, same weights after one iteration."""

import torch
from conftest import clip

from lmc import build_model
from lmc.bench.authors_form import MEMORY, authors_parameters, authors_train_step
from lmc.official import ours_to_official
from lmc.training import ClipWindows, train_step

SHORT, OUT, LONG_START, LONG = 10, 3, 2, 9


def one_iteration_each():
    """From the same initial weights and clip: (our losses, our model, the authors' losses,
    the authors' parameters, their parameters after each optimizer step)."""
    model = build_model("tiny")
    params = authors_parameters(model)
    before = {k: v.detach().clone() for k, v in params.items()}
    frames = clip(b=2, t=SHORT + OUT, size=32, seed=5)
    ours = train_step(
        model,
        torch.optim.Adam(model.parameters(), lr=2e-4),
        frames,
        ClipWindows(SHORT, OUT, LONG),
        LONG_START,
    )
    optimizer = torch.optim.Adam(params.values(), lr=2e-4)
    after_steps = []
    optimizer.register_step_post_hook(
        lambda *_: after_steps.append({k: v.detach().clone() for k, v in params.items()})
    )
    theirs = authors_train_step(params, optimizer, frames, SHORT, OUT, LONG_START, LONG)
    return ours, model, theirs, params, [before, *after_steps]


def test_one_iteration_gives_the_same_losses_and_the_same_weights():
    ours, model, theirs, params, snapshots = one_iteration_each()
    assert set(theirs) == set(ours) == {"phase1", "phase2"}
    for phase in ours:
        assert abs(theirs[phase] - ours[phase]) <= 1e-5 * abs(ours[phase]), phase
    ours_after = {k.removeprefix("module."): v for k, v in ours_to_official(model).items()}
    assert set(ours_after) == set(params)
    moved = 0
    for key, value in params.items():
        torch.testing.assert_close(value.detach(), ours_after[key], rtol=0, atol=1e-5, msg=key)
        moved += not torch.equal(value.detach(), snapshots[0][key])
    assert moved == len(params)  # every tensor was trained, so the comparison is not vacuous


def test_phase_two_leaves_the_memory_and_the_context_encoder_alone():
    _, _, _, params, (before, after1, after2) = one_iteration_each()
    assert not torch.equal(after1[MEMORY], before[MEMORY])  # phase 1 trains the memory
    assert torch.equal(after2[MEMORY], after1[MEMORY])
    # The gradients left are phase 2's: none for the memory nor the context encoder.
    assert params[MEMORY].grad is None
    context = [k for k in params if k.startswith("memory.motion_context_encoder.")]
    assert context and all(params[k].grad is None for k in context)
    assert all(torch.equal(after2[k], after1[k]) for k in context)
