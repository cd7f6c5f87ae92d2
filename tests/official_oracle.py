"""An independent, functional implementation of the published LMC-Memory forward pass, written
directly against the authors' checkpoint keys (two convolutions per ConvLSTM cell, `memory_w`),
used as the oracle for `lmc.official`. It shares no code with lmc.model."""

import torch
import torch.nn.functional as F


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
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    encoder = "memory.motion_context_encoder" if phase == 1 else "memory.motion_matching_encoder"
    query, (h, w) = _motion(long if phase == 1 else short, sd, encoder)
    mem = sd["memory.memory_w"]
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
