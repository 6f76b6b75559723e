"""A nanoGPT-style character model, written the PyTorch way.

Token and position Embeddings, blocks of pre-LayerNorm causal self-attention (written out by
hand: one projection ``split`` into q, k, v, ``view`` / ``transpose`` into heads, scores
``masked_fill``-ed with a ``tril`` buffer, softmax, ``contiguous().view`` back) and a GELU MLP,
the output head tied to the token embedding, AdamW with a decay / no-decay pair of parameter
groups, gradient clipping, ``.to(DEVICE)`` (the CPU), and sampling with ``topk`` and
``multinomial``. It trains on the text of CPython's documentation topics (``pydoc_data.topics``),
the last 10% held out.

``torch_gpt.py`` and ``gpt.py`` differ only in their import lines (test_ports.py checks it).
"""

import math

from _data import pydoc_text

from tinytorch.activations import GELU, softmax
from tinytorch.autograd import no_grad
from tinytorch.embeddings import Embedding
from tinytorch.layers import Dropout, Linear, Module, ModuleList, init
from tinytorch.losses import cross_entropy
from tinytorch.optimizers import AdamW
from tinytorch.tensor import (
    arange,
    cat,
    long,
    manual_seed,
    multinomial,
    ones,
    randint,
    stack,
    tensor,
    topk,
    tril,
)
from tinytorch.training import clip_grad_norm_
from tinytorch.transformers import LayerNorm

BLOCK_SIZE = 32
N_LAYER = 2
N_HEAD = 4
N_EMBD = 64
DROPOUT = 0.0
BATCH_SIZE = 32
STEPS = 300
LR = 3e-3
EVAL_BATCHES = 8
DEVICE = "cpu"


class CausalSelfAttention(Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        assert n_embd % n_head == 0
        self.n_head, self.n_embd = n_head, n_embd
        self.c_attn = Linear(n_embd, 3 * n_embd)
        self.c_proj = Linear(n_embd, n_embd)
        self.attn_dropout = Dropout(dropout)
        self.resid_dropout = Dropout(dropout)
        mask = tril(ones(block_size, block_size)).view(1, 1, block_size, block_size)
        self.register_buffer("bias", mask, persistent=False)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Block(Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size, dropout)
        self.ln_2 = LayerNorm(n_embd)
        self.c_fc = Linear(n_embd, 4 * n_embd)
        self.gelu = GELU(approximate="tanh")
        self.c_proj = Linear(4 * n_embd, n_embd)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.dropout(self.c_proj(self.gelu(self.c_fc(self.ln_2(x)))))


class GPT(Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0):
        super().__init__()
        self.block_size = block_size
        self.wte = Embedding(vocab_size, n_embd)
        self.wpe = Embedding(block_size, n_embd)
        self.drop = Dropout(dropout)
        self.h = ModuleList([Block(n_embd, n_head, block_size, dropout) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd)
        self.lm_head = Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # scaled init of the residual projections
                init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def _init_weights(self, module):
        if isinstance(module, Linear):
            init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, Embedding):
            init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        _, t = idx.size()
        assert t <= self.block_size, f"sequence of {t} is longer than block {self.block_size}"
        pos = arange(0, t, dtype=long, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    def configure_optimizers(self, weight_decay, lr):
        # Decay the matrices (Linear weights, embeddings); not the biases or LayerNorm gains.
        params = {name: p for name, p in self.named_parameters() if p.requires_grad}
        decay = [p for p in params.values() if p.dim() >= 2]
        no_decay = [p for p in params.values() if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        return AdamW(groups, lr=lr, betas=(0.9, 0.95))

    @no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.block_size else idx[:, -self.block_size :]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
            probs = softmax(logits, dim=-1)
            idx_next = multinomial(probs, num_samples=1)
            idx = cat((idx, idx_next), dim=1)
        return idx


def get_batch(data, batch_size, block_size):
    ix = randint(len(data) - block_size, (batch_size,))
    x = stack([data[i : i + block_size] for i in ix])
    y = stack([data[i + 1 : i + 1 + block_size] for i in ix])
    return x.to(DEVICE), y.to(DEVICE)


@no_grad()
def estimate_loss(model, data):
    model.eval()
    losses = []
    for _ in range(EVAL_BATCHES):
        _, loss = model(*get_batch(data, BATCH_SIZE, BLOCK_SIZE))
        losses.append(loss.item())
    model.train()
    return sum(losses) / len(losses)


def main(seed=0, steps=STEPS):
    manual_seed(seed)
    text = pydoc_text()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    encode = lambda s: [stoi[c] for c in s]  # noqa: E731
    decode = lambda ids: "".join(chars[i] for i in ids)  # noqa: E731
    data = tensor(encode(text), dtype=long)
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]

    model = GPT(len(chars), BLOCK_SIZE, N_LAYER, N_HEAD, N_EMBD, DROPOUT).to(DEVICE)
    optimizer = model.configure_optimizers(weight_decay=0.1, lr=LR)
    initial_val = estimate_loss(model, val_data)
    for step in range(steps):
        x, y = get_batch(train_data, BATCH_SIZE, BLOCK_SIZE)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 100 == 0:
            print(f"step {step}: train loss {loss.item():.4f}")
    val_loss = estimate_loss(model, val_data)

    model.eval()
    prompt = tensor([encode("The ")], dtype=long, device=DEVICE)
    sample = decode(model.generate(prompt, 80, temperature=0.8, top_k=10)[0].tolist())
    print(f"val loss {initial_val:.3f} -> {val_loss:.3f} (ln vocab {math.log(len(chars)):.3f})")
    print(repr(sample))
    return {
        "initial_val_loss": initial_val,
        "val_loss": val_loss,
        "ln_vocab": math.log(len(chars)),
        "sample": sample,
        "tied": model.lm_head.weight is model.wte.weight,
        "state_shapes": {k: tuple(v.shape) for k, v in model.state_dict().items()},
    }


if __name__ == "__main__":
    main()
