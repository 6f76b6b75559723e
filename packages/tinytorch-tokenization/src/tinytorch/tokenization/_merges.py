"""Learning byte-pair merges with incrementally maintained pair counts.

The naive trainer recounts every adjacent pair of the corpus after each merge: O(corpus) per
merge. Here the counts live in a dict that each merge only patches: the merged pair's
occurrences are found through an index (pair -> the words that contain it), and only the pairs
that touch a merged occurrence change. The most frequent pair comes from a max-heap whose
entries go stale when a count changes; a popped entry is used only if it still matches the
current count (lazy invalidation), so no entry is ever searched for or removed.

Counting convention (the same as the naive recount): a pair's count is the number of adjacent
positions holding it, overlapping ones included ("aaa" holds ("a", "a") twice), weighted by the
word's frequency; a merge rewrites each word left to right ("aaa" -> "aa" "a").
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from itertools import pairwise

__all__ = ["learn_merges", "merge_word"]

Pair = tuple[int, int]


def merge_word(
    word: list[int], a: int, b: int, new_id: int
) -> tuple[list[int], list[Pair], list[Pair]]:
    """Rewrite ``word`` with every ``(a, b)`` (left to right) as ``new_id``.

    Returns the new word, the pairs of the old word that touched a merged occurrence (each
    position once) and the pairs of the new word that touch a ``new_id`` it made (each position
    once). Every other pair is the same before and after, so these two lists are the whole
    change to the pair counts. A word without the pair comes back as it is, with two empty
    lists.
    """
    n = len(word)
    out: list[int] = []
    made: list[int] = []  # positions in ``out`` of the new tokens
    removed: list[Pair] = []
    last = -1  # the last old pair position already listed, so that adjacent merges share it
    i = 0
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            # Old pairs at positions i-1 (left neighbour), i (the pair) and i+1 (right one).
            for k in (i - 1, i, i + 1):
                if k > last and k >= 0 and k + 1 < n:
                    removed.append((word[k], word[k + 1]))
                    last = k
            made.append(len(out))
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    if not made:
        return word, [], []
    added: list[Pair] = []
    m = len(out)
    last = -1
    for j in made:
        for k in (j - 1, j):
            if k > last and k >= 0 and k + 1 < m:
                added.append((out[k], out[k + 1]))
                last = k
    return out, removed, added


def learn_merges(
    word_counts: Mapping[bytes, int], num_merges: int, min_frequency: int = 1
) -> list[Pair]:
    """Up to ``num_merges`` merges learned from byte strings and their frequencies.

    Each step merges the most frequent pair; ties go to the smallest ``(left_id, right_id)``,
    so the result depends only on the counts, never on dict or set order. Merge ``k`` makes
    token ``256 + k``. Stops early when no pair occurs ``min_frequency`` times.

    Example:
        >>> learn_merges({b"aaabdaaabac": 1}, 3)
        [(97, 97), (97, 98), (256, 257)]
    """
    words: list[list[int]] = []
    freqs: list[int] = []
    for raw, f in word_counts.items():
        if len(raw) >= 2 and f > 0:
            words.append(list(raw))
            freqs.append(f)

    counts: dict[Pair, int] = {}
    where: dict[Pair, set[int]] = {}
    for wi, w in enumerate(words):
        f = freqs[wi]
        for p in pairwise(w):
            counts[p] = counts.get(p, 0) + f
            s = where.get(p)
            if s is None:
                where[p] = {wi}
            else:
                s.add(wi)

    # Entries are (-count, pair): the smallest is the most frequent pair, then the smallest ids.
    heap: list[tuple[int, Pair]] = [(-c, p) for p, c in counts.items()]
    heapq.heapify(heap)

    merges: list[Pair] = []
    while len(merges) < num_merges and heap:
        neg, pair = heapq.heappop(heap)
        if counts.get(pair) != -neg:
            continue  # stale: this pair's count changed after the entry was pushed
        if -neg < min_frequency:
            break
        new_id = 256 + len(merges)
        merges.append(pair)
        a, b = pair
        delta: dict[Pair, int] = {}
        # Words in the index may no longer hold the pair (an earlier merge ate it); merge_word
        # then reports no change, which is cheaper than keeping the index exact.
        for wi in where.pop(pair, ()):
            new_word, removed, added = merge_word(words[wi], a, b, new_id)
            if not removed:
                continue
            words[wi] = new_word
            f = freqs[wi]
            for p in removed:
                delta[p] = delta.get(p, 0) - f
            for p in added:
                delta[p] = delta.get(p, 0) + f
                s = where.get(p)
                if s is None:
                    where[p] = {wi}
                else:
                    s.add(wi)
        for p, d in delta.items():
            if d == 0:
                continue
            c = counts.get(p, 0) + d
            if c > 0:
                counts[p] = c
                heapq.heappush(heap, (-c, p))
            else:
                # Only the merged pair and pairs whose every occurrence touched it get here.
                counts.pop(p, None)
        # All of the merged pair's occurrences are gone (left-to-right rewriting leaves none).
        counts.pop(pair, None)
    return merges
