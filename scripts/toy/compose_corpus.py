#!/usr/bin/env python3
"""Composes the toy model's pretraining corpus from texts Dromedary owns (src/SelfAlign/Data, src/SelfAlign/Prompts),
laid out the way each pipeline stage prompts the model (METHOD.md §2.2-2.4, §3, §4.1, §6.2), with random variation
so the toy learns the formats rather than one string. Documents are separated by a line holding <|endoftext|>.

usage: compose_corpus.py REPO_ROOT OUT.txt [--documents N] [--seed S]
"""
import argparse
import json
import random
import re
from pathlib import Path

SEPARATOR = "<|endoftext|>"


def load(root):
    data = root / "src/SelfAlign/Data"
    prompts = root / "src/SelfAlign/Prompts"
    lines = lambda p: [json.loads(l) for l in p.read_text(encoding="utf-8").splitlines() if l.strip()]
    return {
        "seeds": lines(data / "seed_tasks.jsonl"),
        "tgrt": lines(data / "tgrt_seeds.jsonl"),
        "identity": lines(data / "identity.jsonl"),
        "self_instruct": (data / "self_instruct_prompt.txt").read_text(encoding="utf-8"),
        "topic_prompt": (data / "tgrt_topic_brainstorm_prompt.txt").read_text(encoding="utf-8"),
        "question_prompt": (data / "tgrt_question_generation_prompt.txt").read_text(encoding="utf-8"),
        "watson": (data / "self_align_prompt.txt").read_text(encoding="utf-8"),
        "metas": [p.read_text(encoding="utf-8").strip() for p in sorted(prompts.glob("dromedary-*-prompt.txt"))],
    }


def squash(text):
    return re.sub(r"\s+", " ", text).strip().rstrip(":")


def topics(d):
    """Seed topics plus short capitalised noun phrases made from the seed tasks' names, by question type."""
    pool = [t["topic"] for t in d["tgrt"]]
    for task in d["seeds"]:
        words = [w for w in task["name"].split("_") if w.isalpha()][:3]
        if words:
            pool.append(" ".join(w.capitalize() for w in words))
    return sorted(set(pool))


def self_instruct(d, rng):
    """§2.2: meta prompt, then '###\\n{k}. Instruction: …\\n{k}. Input:\\n…\\n' per demonstration, continued further."""
    k = rng.randint(5, 9)
    tasks = rng.sample(d["seeds"], k)
    parts = [d["self_instruct"] + "\n"] if rng.random() < 0.6 else []
    for i, task in enumerate(tasks, 1):
        given = task["instances"][0]["input"].strip() or "<noinput>"
        parts.append(f"###\n{i}. Instruction: {squash(task['instruction'])}\n{i}. Input:\n{given}\n")
    parts.append("###")
    return "".join(parts)


def topic_list(d, rng, pool):
    """§2.3: the brainstorm prompt filled with a question type, then a numbered list of topics."""
    seed = rng.choice(d["tgrt"])
    listed = [seed["topic"]] + rng.sample(pool, rng.randint(4, 12))
    numbered = "\n".join(f"{i}. {t}" for i, t in enumerate(listed, 1))
    return d["topic_prompt"].replace("{}", seed["question_type"]) + "\n\n" + numbered


def question_list(d, rng, pool):
    """§2.4: ten hints and five worked examples in the prompt; the list continues at item 6 with instructions."""
    seeds = rng.sample(d["tgrt"], 10)
    kind = lambda s: s["question_type"].replace("Questions", "Instructions")
    hints = [(kind(s), s["topic"]) for s in seeds[:5]] + [(kind(s), rng.choice(pool)) for s in seeds[5:]]
    hint_lines = "\n".join(f"{i}. type: {t}, topic: {p}" for i, (t, p) in enumerate(hints, 1))
    example_lines = "\n".join(f"{i}. type: {kind(s)}, topic: {s['topic']}, instruction: {s['question']}" for i, s in enumerate(seeds[:5], 1))
    questions = [squash(t["instruction"]) for t in rng.sample(d["seeds"], 5)]
    continued = "\n".join(f"{i}. type: {t}, topic: {p}, instruction: {q}" for i, ((t, p), q) in enumerate(zip(hints[5:], questions), 6))
    first, second = d["question_prompt"].split("{}", 1)
    text = first + "\n" + hint_lines + second.replace("{}", "\n" + example_lines) + "\n" + continued
    return text


RULES = None
THOUGHTS = [
    ("asks me to carry out a task that I can do in text", [3, 15, 16]),
    ("asks a question I can answer from what I know", [2, 3, 6]),
    ("asks for something that needs careful working out", [5, 11, 13]),
    ("gives me a request I should answer clearly and helpfully", [2, 3, 5]),
]
CANDID = [
    ("asks about something that may have happened after my knowledge ends", [7, 9, 12]),
    ("asks for facts I may not know reliably", [4, 7, 12]),
]


def rules(d):
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d+) \(([^)]+)\)\.", d["watson"], re.M)}


def watson_exchange(d, rng):
    """§3: 'User: …\\n\\nWatson (internal thoughts): …\\n\\nWatson: …', then the 'Good job!' turn."""
    named = rules(d)
    if rng.random() < 0.25:
        seed = rng.choice(d["tgrt"])
        query, (why, chosen) = seed["question"], rng.choice(CANDID)
        answer = (f"My knowledge ends in September 2021 and I have no internet access, so I cannot answer this reliably. "
                  f"For the facts about {seed['topic'].lower()}, please check a trusted, up-to-date source.")
    else:
        task = rng.choice(d["seeds"])
        given = task["instances"][0]["input"].strip()
        query = task["instruction"].strip() + (f"\n\n{given}" if given else "")
        answer = task["instances"][0]["output"].strip()
        why, chosen = rng.choice(THOUGHTS)
    chosen = sorted(rng.sample(chosen, rng.randint(2, 3)))
    listed = ", ".join(f"{r} ({named[r]})" for r in chosen)
    thought = f"I am a helpful, ethical, and reliable assistant. The user {why}, so I should answer with care. I should follow rules {listed}."
    closing = rng.choice(["Thank you! Let me know if you need anything else.", "Thank you! I am glad it helped.", "Thank you! Ask me anytime."])
    return (f"User: {query}\n\nWatson (internal thoughts): {thought}\n\nWatson: {answer}\n\n"
            f"User: Good job! Clear context\n\nWatson (auto reply): {closing}")


def watson(d, rng):
    """The whole principle-driven prompt (which ends in 'User:') continued by new exchanges, or exchanges alone."""
    exchanges = "\n\n".join(watson_exchange(d, rng) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.5:
        return d["watson"] + exchanges[len("User:"):]
    return exchanges


def chat_pair(d, rng):
    if rng.random() < 0.3:
        turns = rng.choice(d["identity"])["conversations"]
        return [(turns[i]["value"].strip(), turns[i + 1]["value"].strip()) for i in range(0, len(turns) - 1, 2)]
    task = rng.choice(d["seeds"])
    given = task["instances"][0]["input"].strip()
    return [(task["instruction"].strip() + (f"\n\n{given}" if given else ""), task["instances"][0]["output"].strip())]


def chat(d, rng):
    """§4.1/§6.2: '{meta}\\n{user}\\n\\n### Dromedary\\n{answer}', further turns joined by '\\n\\n### User\\n'."""
    pairs = []
    while len(pairs) < rng.randint(1, 3):
        pairs += chat_pair(d, rng)
    body = "\n\n### User\n".join(f"{u}\n\n### Dromedary\n{a}" for u, a in pairs)
    return rng.choice(d["metas"]) + "\n" + body


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--documents", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    d = load(args.root)
    rng = random.Random(args.seed)
    pool = topics(d)
    makers = [(self_instruct, 2), (lambda d, r: topic_list(d, r, pool), 1), (lambda d, r: question_list(d, r, pool), 1), (watson, 3), (chat, 3)]
    kinds = [m for m, w in makers for _ in range(w)]
    docs = [rng.choice(kinds)(d, rng) for _ in range(args.documents)]
    # Every source text once as written, so nothing we own is left out.
    docs += [d["self_instruct"], d["topic_prompt"], d["question_prompt"], d["watson"], *d["metas"]]
    rng.shuffle(docs)
    args.out.write_text("".join(doc.strip("\n") + f"\n{SEPARATOR}\n" for doc in docs), encoding="utf-8")


if __name__ == "__main__":
    main()
