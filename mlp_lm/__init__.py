"""mlp_lm: the character-level MLP language model of makemore part 2 (Bengio et al. 2003), UI-free.

data → model → trainer (fast kernel + autograd reference, live snapshots) → LR sweep, sampler, bigram baseline,
checkpoints, and a CLI (`python -m mlp_lm`). Nothing here imports a UI library.
"""
