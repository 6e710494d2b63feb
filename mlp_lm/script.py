"""'Copy as Python': any run as a standalone script of the lecture's own code, and as the CLI command that retrains it.

    text = python_script(info.model, info.train, names_path="data/names.txt", fingerprint=info.data["fingerprint"])
    cmd = train_command(info.model, info.train, data_path=None)          # None: the default data/names.txt
    text, cmd = for_run(store, run_id)                                    # both, with the run's own names file

The script is plain PyTorch in makemore part 2's words (stoi/itos, build_dataset, C, W1, b1, W2, b2, the loop,
split_loss, sampling) and reproduces what mlp_lm trains, step for step to float rounding: the same names and split
(random.seed(42) shuffle, 80/10/10), the same draws for the parameters (torch.Generator().manual_seed(seed), in the
order and with the init scaling of mlp_lm.model.init_params), the same minibatch stream (a generator seeded seed + 1,
one torch.randint per step, as mlp_lm.trainer draws it), the same learning-rate schedule (mlp_lm.schedule) and
optimiser. `MAX_STEPS=N python script.py` runs only the first N steps of the run (its schedule unchanged).
A learning rate changed live in the app during a run is not recorded: the script uses the run's last one.
"""
from __future__ import annotations

import shlex
import textwrap
from dataclasses import fields
from pathlib import Path

from .config import TrainConfig
from .data import DEFAULT_DATA
from .errors import ConfigError
from .model import ModelConfig

SAMPLES = 20  # names the script samples at the end


def configs(model: dict, train: dict) -> tuple[ModelConfig, TrainConfig]:
    """A run's stored settings → validated configs (ConfigError for a damaged or foreign record)."""
    try:
        mc = ModelConfig(**{f.name: model[f.name] for f in fields(ModelConfig) if f.name in model})
        tc = TrainConfig(**{f.name: train[f.name] for f in fields(TrainConfig) if f.name in train})
    except (TypeError, KeyError, AttributeError) as e:
        raise ConfigError(f"the run's settings cannot be read ({e})") from None
    return mc, tc


def _num(v) -> str:
    """A number as a Python literal that reads back to the same value (ints with no separators, floats by repr)."""
    return repr(float(v)) if isinstance(v, float) else str(int(v))


def _schedule(tc: TrainConfig) -> str:
    """`def learning_rate(i)` for the run's schedule, the same formulas as mlp_lm.schedule.lr_schedule."""
    lr, lr2 = _num(tc.lr), _num(tc.lr2)
    if tc.schedule == "step":
        return (f"def learning_rate(i):\n"
                f"    return {lr} if i < {tc.decay_at} else {lr2}  # the lecture's step decay\n")
    if tc.schedule == "constant":
        return f"def learning_rate(i):\n    return {lr}\n"
    anneal = ("def cos_anneal(start, end, frac):\n"
              "    frac = min(max(frac, 0.0), 1.0)\n"
              "    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * frac))\n\n\n")
    if tc.schedule == "cosine":
        return anneal + (f"def learning_rate(i):  # cosine from {lr} down to {lr2} over the run\n"
                         f"    return cos_anneal({lr}, {lr2}, i / max(steps - 1, 1))\n")
    return anneal + (  # onecycle: mlp_lm.schedule's warm-up quarter (from lr/25), then down to lr/(25*1e4)
        "warmup = max(int(0.25 * steps), 1)\n\n\n"
        f"def learning_rate(i):  # one-cycle: up from {lr}/25 to {lr} over the first quarter, then down\n"
        "    if i < warmup:\n"
        f"        return cos_anneal({lr} / 25.0, {lr}, i / warmup)\n"
        f"    return cos_anneal({lr}, {lr} / (25.0 * 1e4), (i - warmup) / max(steps - warmup - 1, 1))\n")


def _update(tc: TrainConfig) -> tuple[str, str]:
    """(optimiser set-up, update lines inside the loop)."""
    wd = _num(tc.weight_decay)
    if tc.optimizer == "sgd":
        grad = f"(p.grad + {wd} * p.data)" if tc.weight_decay else "p.grad"
        return "", f"    for p in parameters:\n        p.data += -lr * {grad}\n"
    cls = "Adam" if tc.optimizer == "adam" else "AdamW"
    setup = f"optimizer = torch.optim.{cls}(parameters, lr={_num(tc.lr)}, weight_decay={wd})\n"
    return setup, ("    for group in optimizer.param_groups:\n        group['lr'] = lr\n"
                   "    optimizer.step()\n")


def _init(mc: ModelConfig) -> str:
    """The draws of mlp_lm.model.init_params: plain randn, times part 3's factors for "saturated" / "scaled"."""
    w1 = " * ((5 / 3) / math.sqrt(block_size * n_embd))" if mc.init == "scaled" else ""
    b1 = " * 0.01" if mc.init == "scaled" else ""
    w2, b2 = (" * 0.01", " * 0.0") if mc.init in ("saturated", "scaled") else ("", "")
    note = {"lecture": "",
            "saturated": "# part 3's first fix: small logits at init (loss ~log(27), not ~27); W1 is left as is, so\n"
                         "# most tanh units start saturated (on purpose)\n",
            "scaled": "# part 3's initialisation: the same draws, scaled so the first loss is ~log(27) and tanh starts\n"
                      "# unsaturated (Kaiming's gain 5/3 for tanh)\n"}[mc.init]
    return (f"{note}C = torch.randn((vocab_size, n_embd), generator=g)\n"
            f"W1 = torch.randn((block_size * n_embd, n_hidden), generator=g){w1}\n"
            f"b1 = torch.randn(n_hidden, generator=g){b1}\n"
            f"W2 = torch.randn((n_hidden, vocab_size), generator=g){w2}\n"
            f"b2 = torch.randn(vocab_size, generator=g){b2}\n")


def python_script(model: dict, train: dict, *, names_path: str | Path, fingerprint: str | None = None,
                  title: str = "", run_id: str = "", print_every: int = 10_000) -> str:
    """The whole run as a standalone Python script (a str); see the module docstring."""
    mc, tc = configs(model, train)
    setup, update = _update(tc)
    check = "" if not fingerprint else (
        f"if hashlib.sha1('\\n'.join(words).encode('utf-8')).hexdigest()[:16] != {fingerprint!r}:\n"
        "    print('note: these are not the names the run trained on, so its losses will differ')\n")
    head = f"# run {run_id} · {title!r}\n" if run_id or title else ""
    return f'''"""makemore part 2's MLP as the MLP LM Explorer trained this run: plain PyTorch, the lecture's code.

    python this_file.py                  # the whole run: train, evaluate, sample
    MAX_STEPS=1000 python this_file.py   # only its first 1,000 steps (the schedule stays the run's)

Exported by mlp_lm/script.py: the run's names, split, parameter draws, minibatches and schedule,
so its per-step losses (lossi) match the run's to float rounding.
"""
{head}import hashlib
import math
import os
import random

import torch
import torch.nn.functional as F

# ---- the run's settings ------------------------------------------------------
names_file = {str(names_path)!r}  # one name per line
block_size = {mc.block_size}  # context length: how many characters we take to predict the next one
n_embd = {mc.emb_dim}  # the dimensionality of the character embedding vectors (columns of C)
n_hidden = {mc.hidden}  # the number of tanh units in the hidden layer
steps = {tc.steps}  # optimisation steps of the run
batch_size = {tc.batch_size}  # examples per minibatch, drawn with replacement
seed = {tc.seed}  # draws the parameters; seed + 1 draws the minibatches
max_steps = min(steps, int(os.environ.get("MAX_STEPS") or steps))
torch.set_num_threads({tc.threads})  # this tiny model trains fastest on one thread

# ---- the data ----------------------------------------------------------------
words = open(names_file, "r", encoding="utf-8").read().splitlines()
{check}chars = sorted(list(set(''.join(words))))
stoi = {{s: i + 1 for i, s in enumerate(chars)}}
stoi['.'] = 0
itos = {{i: s for s, i in stoi.items()}}
vocab_size = len(itos)


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    print(X.shape, Y.shape)
    return X, Y


random.seed(42)
random.shuffle(words)
n1 = int(0.8 * len(words))
n2 = int(0.9 * len(words))
Xtr, Ytr = build_dataset(words[:n1])     # 80%
Xdev, Ydev = build_dataset(words[n1:n2])  # 10%
Xte, Yte = build_dataset(words[n2:])      # 10%

# ---- the model ---------------------------------------------------------------
g = torch.Generator().manual_seed(seed)
{_init(mc)}parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters), 'parameters')
for p in parameters:
    p.requires_grad = True
{setup}

{_schedule(tc)}

# ---- training ----------------------------------------------------------------
g = torch.Generator().manual_seed(seed + 1)  # the minibatch stream
stepi, lossi = [], []
for i in range(max_steps):
    # minibatch construct
    ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
    # forward pass
    emb = C[Xtr[ix]]  # (batch_size, block_size, n_embd)
    h = torch.tanh(emb.view(-1, block_size * n_embd) @ W1 + b1)  # (batch_size, n_hidden)
    logits = h @ W2 + b2  # (batch_size, vocab_size)
    loss = F.cross_entropy(logits, Ytr[ix])
    # backward pass
    for p in parameters:
        p.grad = None
    loss.backward()
    # update
    lr = learning_rate(i)
{update}    # track stats
    if i % {print_every} == 0:
        print(f'{{i:7d}}/{{max_steps:7d}}: {{loss.item():.4f}}')
    stepi.append(i)
    lossi.append(loss.item())  # the lecture plots loss.log10(): torch.tensor(lossi).log10()


# ---- evaluation --------------------------------------------------------------
@torch.no_grad()
def split_loss(X, Y):
    emb = C[X]
    h = torch.tanh(emb.view(-1, block_size * n_embd) @ W1 + b1)
    logits = h @ W2 + b2
    return F.cross_entropy(logits, Y).item()


for name, (X, Y) in {{'train': (Xtr, Ytr), 'dev': (Xdev, Ydev), 'test': (Xte, Yte)}}.items():
    print(name, split_loss(X, Y))

# ---- sampling from the model -------------------------------------------------
g = torch.Generator().manual_seed(seed + 10)
for _ in range({SAMPLES}):
    out = []
    context = [0] * block_size  # initialize with all ...
    while True:
        emb = C[torch.tensor([context])]  # (1, block_size, n_embd)
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        logits = h @ W2 + b2
        probs = F.softmax(logits, dim=1)
        ix = torch.multinomial(probs, num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        out.append(ix)
        if ix == 0 or len(out) >= 50:
            break
    print(''.join(itos[i] for i in out))
'''


TRAIN_FLAGS = ("steps", "batch_size", "optimizer", "lr", "lr2", "decay_step", "schedule", "weight_decay", "seed",
               "eval_interval")


def train_command(model: dict, train: dict, *, data_path: str | Path | None = None, name: str | None = None) -> str:
    """`python -m mlp_lm train …` with every setting of the run spelled out (data_path None: the default names)."""
    mc, tc = configs(model, train)
    args = ["python", "-m", "mlp_lm", "train"]
    if data_path is not None:
        args += ["--data", str(data_path)]
    values = {"block_size": mc.block_size, "emb_dim": mc.emb_dim, "hidden": mc.hidden, "init": mc.init}
    values |= {k: getattr(tc, k) for k in TRAIN_FLAGS} | {"decay_step": tc.decay_at}
    for k in ("eval_train_rows", "threads", "engine", "device"):  # only when not the default
        if getattr(tc, k) != getattr(TrainConfig(), k):
            values[k] = getattr(tc, k)
    for k, v in values.items():
        args += ["--" + k.replace("_", "-"), _num(v) if isinstance(v, (int, float)) else str(v)]
    if name:
        args += ["--name", name]
    return " ".join(shlex.quote(a) for a in args)


def names_file(store, info) -> tuple[Path | None, bool]:
    """(the names file a run trained on, whether it is the default data/names.txt); (None, False) if unknown."""
    data = info.data or {}
    if data.get("default"):
        return DEFAULT_DATA, True
    fp = data.get("fingerprint")
    path = store.root / "_data" / f"{fp}.txt"
    if isinstance(fp, str) and store.words(info.id) is not None:
        return path, False
    return None, False


def lr_note(info) -> str:
    """One sentence on a run's hand-made learning-rate changes ("" if none): the script and command reproduce the
    recipe the run started with, not those changes."""
    if not info.lr_changes:
        return ""
    what = "; ".join(f"at step {c['step']:,} to {_num(c['lr'])} (lr2 {_num(c['lr2'])})" for c in info.lr_changes[:5])
    more = f" and {len(info.lr_changes) - 5} more" if len(info.lr_changes) > 5 else ""
    return (f"This run's learning rate was changed by hand while it trained ({what}{more}); "
            "the script and the command reproduce the recipe it started with.")


def for_run(store, run_id: str) -> tuple[str, str]:
    """(the standalone script, the CLI command) of a run in the store (RunError if it is missing or damaged)."""
    info = store.get(run_id)
    path, default = names_file(store, info)
    script = python_script(info.model, info.train, names_path=path or "names.txt",
                           fingerprint=info.data.get("fingerprint"), title=info.name, run_id=info.id)
    if info.lr_changes:
        script = "".join(f"# {line}\n" for line in textwrap.wrap(lr_note(info), 100)) + script
    return script, train_command(info.model, info.train, data_path=None if default else (path or "names.txt"),
                                 name=info.name)
