"""The authors' form of LMC-Memory (Lee et al., CVPR 2021): forward pass and training iteration.

Why it exists: issue 14 asks for a `paper-mnist` training iteration in at most 0.80 of the
authors' time on this CPU, so we wanted the authors' iteration, run by this machine's torch, to time
against (`python -m lmc.bench cpu --authors`). It is not their code, and it times slower than
theirs: against their code our iteration takes 0.97-0.98 of their time (issue 29), against this
form 0.88 in the bench. Step by step it computes what the published procedure computes, in its
order (docs/perf.md, "The authors' form against their code"), so where the difference comes from
is not known, and its ratio is not quoted as the authors'.

It is also the oracle of `lmc.official`: it is written directly against the keys of the authors'
checkpoints (`memory.memory_w`, two convolutions per ConvLSTM cell, see `lmc.official`) and shares
no code with `lmc.model` or `lmc.nn`.

It computes the same function as our model, in the authors' structure, which differs from ours in:
- every ConvLSTM cell runs two convolutions, `conv2d_x` on the input and `conv2d_h` on the hidden
  state, each with its bias, and sums their gates (ours: one convolution over concat([x, h])
  whose bias is bias_x + bias_h);
- the frame encoder runs frame by frame inside the time loop (ours: all input frames in one
  batched call);
- the initial h and c are zero tensors that go through `conv2d_h` at step 0 like any other.
The training iteration (`authors_train_step`) follows `lmc.training.train_step` with the
published recipe: phase 1 addresses the memory from the long window through the context encoder
and trains the memory; phase 2 addresses it from the short input through the matching encoder
with the memory frozen (read through detach()); each phase has its own forward, loss
(L1 + MSE, mean-reduced, 1:1), backward pass and optimizer step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MEMORY = "memory.memory_w"


def _seq_conv2d(x, sd, prefix, strides, act, transpose=False):
    for idx, stride in strides:
        w, b = sd[f"{prefix}.{idx}.weight"], sd[f"{prefix}.{idx}.bias"]
        if transpose:
            x = F.conv_transpose2d(x, w, b, stride=stride, padding=1, output_padding=stride - 1)
        else:
            x = F.conv2d(x, w, b, stride=stride, padding=1)
        if act is not None:
            x = act(x)
    return x


def _motion(frames, sd, prefix):
    x = (frames[:, 1:] - frames[:, :-1]).permute(0, 2, 1, 3, 4)  # N C T H W

    def conv(x, i):
        w, b = sd[f"{prefix}.{i}.weight"], sd[f"{prefix}.{i}.bias"]
        return F.relu(F.conv3d(x, w, b, padding=1))

    x = F.max_pool3d(conv(x, 0), (1, 2, 2))
    x = F.max_pool3d(conv(x, 3), (2, 2, 2))
    x = F.max_pool3d(conv(conv(x, 6), 8), (2, 2, 2))
    x = F.max_pool3d(conv(conv(x, 11), 13), (2, 2, 2))
    x = x.mean(dim=2)  # adaptive average over time to 1
    n, d, h, w = x.shape
    return x.reshape(n, d, h * w).transpose(1, 2), (h, w)


def official_forward(sd, short, long, out_len, phase, sigmoid=False):
    """sd: the authors' state dict (with or without `module.`); short (N, T, C, H, W); long the
    long window (phase 1 only) -> predicted frames (N, out_len, C, H, W) and the addressing
    weights (N, cells, S). Gradients flow to the tensors of `sd` that require them."""
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    encoder = "memory.motion_context_encoder" if phase == 1 else "memory.motion_matching_encoder"
    query, (h, w) = _motion(long if phase == 1 else short, sd, encoder)
    mem = sd[MEMORY]
    cos = F.normalize(query, dim=-1) @ F.normalize(mem, dim=-1).T
    weights = torch.softmax(cos, dim=-1)
    readout = weights @ mem
    grid = readout.transpose(1, 2).reshape(readout.shape[0], -1, h, w)
    feat = _seq_conv2d(grid, sd, "memory.embedder", [(0, 2), (2, 2)], F.relu, transpose=True)

    layers = sorted({int(k.split(".")[1]) for k in sd if k.startswith("convlstm_list.")})
    n, t = short.shape[:2]
    hid = sd["convlstm_list.0.conv2d_h.weight"].shape[1]
    hs = cs = None
    outs = []
    prev = None
    for step in range(t + out_len - 1):
        frame = short[:, step] if step < t else prev
        x = _seq_conv2d(frame, sd, "encoder", [(0, 2), (2, 1), (4, 2), (6, 1)], F.elu)
        if hs is None:
            hs = [x.new_zeros(n, hid, *x.shape[-2:]) for _ in layers]
            cs = [x.new_zeros(n, hid, *x.shape[-2:]) for _ in layers]
        for layer in layers:
            p = f"convlstm_list.{layer}"
            gx = F.conv2d(x, sd[f"{p}.conv2d_x.weight"], sd[f"{p}.conv2d_x.bias"], padding=1)
            gh = F.conv2d(
                hs[layer], sd[f"{p}.conv2d_h.weight"], sd[f"{p}.conv2d_h.bias"], padding=1
            )
            xi, xg, xf, xo = gx.chunk(4, 1)
            hi, hg, hf, ho = gh.chunk(4, 1)
            cs[layer] = torch.sigmoid(xf + hf) * cs[layer] + torch.sigmoid(xi + hi) * torch.tanh(
                xg + hg
            )
            hs[layer] = torch.sigmoid(xo + ho) * torch.tanh(cs[layer])
            x = hs[layer]
        if step >= t - 1:
            pooled = torch.cat([cs[-1], feat], 1).mean(dim=(2, 3))
            a = F.relu(F.linear(pooled, sd["attention_func.2.weight"], sd["attention_func.2.bias"]))
            a = torch.sigmoid(
                F.linear(a, sd["attention_func.4.weight"], sd["attention_func.4.bias"])
            )
            dec_in = torch.cat([hs[-1], a[:, :, None, None] * feat], 1)
            y = _seq_conv2d(dec_in, sd, "decoder", [(0, 1), (2, 2), (4, 1)], F.elu, transpose=True)
            y = F.conv_transpose2d(
                y,
                sd["decoder.6.weight"],
                sd["decoder.6.bias"],
                stride=2,
                padding=1,
                output_padding=1,
            )
            if sigmoid:
                y = torch.sigmoid(y)
            outs.append(y)
            prev = y
    return torch.stack(outs, 1), weights


def authors_parameters(model) -> dict[str, torch.Tensor]:
    """Our model's weights as the authors' parameters: {key without `module.`: a leaf tensor that
    requires grad}, cloned and detached, so training them leaves `model` as it was."""
    from lmc.official import ours_to_official  # the converter, not the model's forward

    return {
        key.removeprefix("module."): value.detach().clone().requires_grad_(True)
        for key, value in ours_to_official(model).items()
    }


def authors_train_step(
    params: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    clip: torch.Tensor,
    short_len: int,
    out_len: int,
    long_start: int,
    long_len: int,
    *,
    sigmoid: bool = False,
) -> dict[str, float]:
    """One published training iteration on `clip` (B, short_len + out_len, C, H, W), in the
    authors' form; `optimizer` holds `params.values()`. Returns {"phase1": loss, "phase2": loss}.

    The clip is cut as `lmc.training.ClipWindows.split` cuts it: short = frames [0, short_len),
    target = the next out_len, long = [long_start, long_start + long_len). In phase 2 the memory
    is read through detach(), so it gets no gradient and the optimizer leaves it (and its Adam
    moments) as they were; the context encoder is unused there, so it gets none either.
    """
    short = clip[:, :short_len]
    target = clip[:, short_len : short_len + out_len]
    long = clip[:, long_start : long_start + long_len]
    frozen = {**params, MEMORY: params[MEMORY].detach()}
    losses = {}
    for name, sd, phase in (("phase1", params, 1), ("phase2", frozen, 2)):
        pred, _ = official_forward(
            sd, short, long if phase == 1 else None, out_len, phase, sigmoid=sigmoid
        )
        loss = F.l1_loss(pred, target) + F.mse_loss(pred, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses[name] = loss.item()
    return losses
