"""Learning byte-pair merges: the textbook way, and with pair counts kept up to date.

The textbook trainer (:func:`learn_merges_textbook`) recounts every adjacent pair of the corpus
after each merge: O(corpus) per merge. :func:`learn_merges` keeps the counts in a dict that each
merge only patches: the merged pair's occurrences are found through an index (pair -> the words
that contain it), and only the pairs that touch a merged occurrence change. The most frequent
pair comes from a max-heap whose entries go stale when a count changes; a popped entry is used
only if it still matches the current count (lazy invalidation), so no entry is ever searched for
or removed. Both learn the same merges (a test holds them equal).

Counting convention (the same in both): a pair's count is the number of adjacent
positions holding it, overlapping ones included ("aaa" holds ("a", "a") twice), weighted by the
word's frequency; a merge rewrites each word left to right ("aaa" -> "aa" "a").
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from itertools import pairwise

__all__ = ["count_pairs", "learn_merges", "learn_merges_textbook", "merge_pair", "merge_word"]

Pair = tuple[int, int]


def count_pairs(words: Sequence[list[int]], freqs: Sequence[int]) -> dict[Pair, int]:
    """How often each adjacent pair of ids occurs in ``words``, word ``i`` counting
    ``freqs[i]`` times (overlapping pairs included: ``[1, 1, 1]`` holds ``(1, 1)`` twice).

    Example:
        >>> count_pairs([[1, 2, 1, 2], [1, 1, 1]], [3, 1])
        {(1, 2): 6, (2, 1): 3, (1, 1): 2}
    """
    # BEGIN SOLUTION bpe-count-pairs
    # HINT: walk each word's neighbouring ids (position i and i + 1) and add the word's frequency
    # HINT: to that pair's entry in a dict; a pair seen for the first time starts from 0.
    # TESTS: naive or textbook or hand_checked or ties or min_frequency or deterministic
    totals: dict[Pair, int] = {}
    for word, weight in zip(words, freqs, strict=True):
        for left, right in pairwise(word):
            totals[(left, right)] = totals.get((left, right), 0) + weight
    return totals
    # END SOLUTION


def merge_pair(word: list[int], a: int, b: int, new_id: int) -> list[int]:
    """``word`` with every ``(a, b)``, read left to right, replaced by ``new_id`` (so
    ``[97, 97, 97]`` with ``(97, 97)`` becomes ``[new_id, 97]``).

    Example:
        >>> merge_pair([97, 97, 97, 98], 97, 97, 256)
        [256, 97, 98]
    """
    # BEGIN SOLUTION bpe-merge-pair
    # HINT: build a new list scanning left to right; where the id here is a and the next one is b,
    # HINT: write new_id and skip both, otherwise copy one id and move on by one.
    # TESTS: naive or textbook or hand_checked or ties or cross or encode or round_trip
    merged: list[int] = []
    pos, end = 0, len(word)
    while pos < end:
        if word[pos] == a and pos + 1 < end and word[pos + 1] == b:
            merged.append(new_id)
            pos += 2
        else:
            merged.append(word[pos])
            pos += 1
    return merged
    # END SOLUTION


def learn_merges_textbook(
    word_counts: Mapping[bytes, int], num_merges: int, min_frequency: int = 1
) -> list[Pair]:
    """The merges :func:`learn_merges` learns, found the textbook way: recount every pair of
    every word before each merge (O(corpus) per merge), merge the most frequent one (ties to
    the smallest ``(left_id, right_id)``) everywhere, repeat. Merge ``k`` makes token
    ``256 + k``; it stops early when no pair occurs ``min_frequency`` times.

    Example:
        >>> learn_merges_textbook({b"aaabdaaabac": 1}, 3)
        [(97, 97), (97, 98), (256, 257)]
    """
    # BEGIN SOLUTION bpe-train-textbook
    # HINT: start from each word as its list of byte values; then, until you have num_merges
    # HINT: merges: count all pairs (count_pairs), pick the most frequent (ties: smallest pair),
    # HINT: stop if there is none or it is rarer than min_frequency, record it and rewrite every
    # HINT: word with merge_pair, the new token's id being 256 + the number of merges so far.
    # TESTS: naive or textbook or hand_checked or ties or min_frequency or deterministic
    kept = [(list(raw), f) for raw, f in word_counts.items() if f > 0]
    words = [w for w, _ in kept]
    freqs = [f for _, f in kept]
    learned: list[Pair] = []
    while len(learned) < num_merges:
        totals = count_pairs(words, freqs)
        if not totals:
            break
        best = min(totals, key=lambda pair: (-totals[pair], pair))
        if totals[best] < min_frequency:
            break
        token = 256 + len(learned)
        words = [merge_pair(w, best[0], best[1], token) for w in words]
        learned.append(best)
    return learned
    # END SOLUTION


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
    # BEGIN SOLUTION bpe-train-incremental
    # HINT: the optimized trainer; the course asks for learn_merges_textbook instead.
    # TESTS: naive or textbook or hand_checked or ties or min_frequency or deterministic
    # STUDENT: return learn_merges_textbook(word_counts, num_merges, min_frequency)
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

    chosen: list[Pair] = []
    while len(chosen) < num_merges and heap:
        neg, pair = heapq.heappop(heap)
        if counts.get(pair) != -neg:
            continue  # stale: this pair's count changed after the entry was pushed
        if -neg < min_frequency:
            break
        new_id = 256 + len(chosen)
        chosen.append(pair)
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
    return chosen
    # END SOLUTION
