#!/usr/bin/env python3
"""Composes the toy model's pretraining corpus from texts Dromedary owns (src/SelfAlign/Data, src/SelfAlign/Prompts),
laid out exactly the way each pipeline stage prompts the model (METHOD.md §2.2-2.4, §3, §4.1, §5.2, §6.2), with
random variation so the toy learns the formats rather than one string. Most documents are short: the formats are
local patterns, and the whole principle-driven prompt (1,600 tokens) appears in only a few documents so that it
does not eat the training budget. Documents are separated by a line holding <|endoftext|>.

usage: compose_corpus.py REPO_ROOT OUT.txt TOKENIZER_TEXT.txt [--documents N] [--seed S]
                         [--drill-documents N] [--drill-corpus DRILL.txt OFFSET_DRILL.txt]

TOKENIZER_TEXT.txt is the corpus plus every fixed prompt many times over: the tokenizer trained on it gives those
prompts short encodings, so the principle-driven prompt and its answer fit the toy's 2,048-token context. It is made
from the stage documents alone, before the drills are mixed in.

DRILL.txt and OFFSET_DRILL.txt are the first two training phases' corpora: short hint-copy drills only (see
copy_drill), numbered from 1 and from random starts. OUT.txt mixes --drill-documents of the second kind into the
stage documents, so the last phase keeps the skill.
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
    text = lambda p: p.read_text(encoding="utf-8")
    return {
        "seeds": lines(data / "seed_tasks.jsonl"),
        "tgrt": lines(data / "tgrt_seeds.jsonl"),
        "identity": lines(data / "identity.jsonl"),
        "self_instruct": text(prompts / "self-instruct-prompt.txt"),
        "topic_prompt": text(prompts / "tgrt-topic-prompt.txt"),
        "question_prompt": text(prompts / "tgrt-question-prompt.txt"),
        "watson": text(data / "self_align_prompt.txt"),
        "chat_metas": [text(prompts / f"dromedary-{n}-prompt.txt").strip() for n in ("concise", "training", "verbose")],
        "extensive": text(prompts / "dromedary-extensive-prompt.txt").strip(),
    }


def squash(text):
    return re.sub(r"\s+", " ", text).strip().rstrip(":")


def query(task):
    given = task["instances"][0]["input"].strip()
    return task["instruction"].strip() + (f"\n\n{given}" if given else "")


def output(task):
    return task["instances"][0]["output"].strip()


# Everyday subjects for topic lists and composed tasks: short noun phrases with capital initials, as §2.3 asks.
TOPICS = """Honeybees, Volcanoes, Public Libraries, Tea Ceremonies, Solar Panels, Night Trains, Coral Reefs, Chess Openings,
Street Food, Vaccines, Desert Plants, Jazz History, Recycling Plastics, Sleep Cycles, Ancient Rome, Bicycle Repair,
Rainforests, Space Telescopes, Folk Songs, Bread Baking, Ocean Tides, Video Games, Mountain Rescue, Wind Farms,
Traffic Lights, Origami, Penguins, Glaciers, Moon Landings, Paper Money, Sign Language, Vegetable Gardens, Earthquakes,
Clockmaking, Marathon Running, Lighthouses, Silk Weaving, Board Games, Weather Balloons, Bird Migration, Fermented Foods,
Cave Paintings, Electric Cars, Printing Press, Olive Oil, Ice Hockey, Poetry Slams, Water Purification, Coffee Farming,
Opera Houses, Tree Rings, Hot Air Balloons, Typewriters, Beekeeping, Kite Flying, Fossil Hunting, City Parks,
Card Tricks, Rice Terraces, Postal Stamps, Windmills, Mushroom Foraging, Submarines, Puppet Theatre, Salt Mines,
Northern Lights, Camel Caravans, Pottery, Fire Safety, Radio Plays, Snow Leopards, Tidal Energy, Spice Trade,
Letter Writing, Sand Dunes, Museum Tours, Dog Training, Bamboo Forests, Carnival Masks, Pocket Watches, Tram Lines,
Wild Orchids, Cheese Making, Shipwrecks, Lantern Festivals, Hiking Boots, Stained Glass, River Dolphins, Sundials,
Table Tennis, Cloud Forests, Bridge Building, Home Budgets, First Aid, Sea Turtles, Mosaic Art, Harbour Cranes""".replace("\n", " ")


def topics(d):
    """Our everyday subjects plus the seed topics."""
    return sorted({t.strip() for t in TOPICS.split(",")} | {t["topic"] for t in d["tgrt"]})


# Task frames for new instructions: a frame, a topic and sometimes a qualifier make far more instructions than the
# toy can memorise, so it learns to compose new ones, as Self-Instruct needs (a copy of a seed fails ROUGE-L).
FRAMES = [
    "Write a short poem about {t}.", "Explain {t} to a ten-year-old.", "List three surprising facts about {t}.",
    "Give two arguments for and two against {t}.", "Describe how {t} has changed over the last hundred years.",
    "Suggest a catchy title for a magazine article on {t}.", "Write a haiku that mentions {t}.",
    "Summarise what most people get wrong about {t}.", "Compose a cheerful tweet that promotes {t}.",
    "Create a five-question quiz on {t}.", "What are the main risks of {t}, and how can they be reduced?",
    "Draft an email inviting a colleague to a talk on {t}.", "Compare {t} with {u} in a short table.",
    "Name four jobs connected to {t}.", "Write a dialogue between a student and a teacher about {t}.",
    "Outline a one-week study plan for learning about {t}.", "Is {t} mainly a scientific, cultural or economic subject? Explain.",
    "Invent a board game based on {t} and describe its rules.", "Write a product description for a gadget inspired by {t}.",
    "Give a step-by-step guide for a beginner interested in {t}.", "How would you explain {t} and {u} to a tourist?",
    "Tell a very short story in which {t} saves the day.", "Which everyday habits are linked to {t}?",
    "Propose a school project about {t} for teenagers.", "Write a limerick about {t}.",
    "Describe a common misconception about {u} and correct it.", "Plan a museum exhibition on {t} in five rooms.",
    "What questions would a journalist ask an expert on {t}?", "Give a one-sentence definition of {t}.",
    "Rank {t}, {u} and {v} by how much they affect daily life, and justify the order.",
]
QUALIFIERS = ["", "", "", " Keep it under fifty words.", " Use simple language.", " Answer in a numbered list.",
              " Add one concrete example.", " Write it for a busy reader.", " Be playful.", " Mention one open question."]
QUESTION_FRAMES = [
    "What happened at the most recent meeting about {t}, and who spoke first?",
    "Who is the current leading researcher on {t}, and what did they publish this month?",
    "What will the price of {t} be next year?", "Which city will host the next world conference on {t}?",
    "What is my neighbour's opinion of {t}?", "How many people searched for {t} yesterday?",
    "What did the newspaper write about {t} this morning?", "Which new law about {t} was passed last week?",
    "Why do people in some regions celebrate {t} differently, and what does it mean to them?",
    "What would happen to {t} if the climate warmed by three degrees?",
]


def synthetic_task(rng, pool):
    t, u, v = rng.sample(pool, 3)
    text = rng.choice(FRAMES).format(t=t.lower(), u=u.lower(), v=v.lower()) + rng.choice(QUALIFIERS)
    return text[0].upper() + text[1:]


def self_instruct(d, rng, pool):
    """§2.2 as SelfInstructPrompt builds it: the meta prompt, then '###\\nk. Instruction: …\\nk. Input:\\n…\\n' items,
    five demonstrations from the seeds and the list continued well past them, mostly with new composed tasks."""
    parts = [d["self_instruct"] + "\n"] if rng.random() < 0.8 else []
    for i in range(1, rng.randint(8, 16)):
        if i > 5 and rng.random() < 0.7:
            instruction, given = synthetic_task(rng, pool), "<noinput>"
        else:
            task = rng.choice(d["seeds"])
            instruction, given = squash(task["instruction"]), task["instances"][0]["input"].strip() or "<noinput>"
        parts.append(f"###\n{i}. Instruction: {instruction}\n{i}. Input:\n{given}\n")
    return "".join(parts) + "###"


def topic_list(d, rng, pool):
    """§2.3 as TopicParser.Prompt builds it: the template filled with a question type, a blank line, then topics."""
    seed = rng.choice(d["tgrt"])
    listed = [seed["topic"]] + rng.sample(pool, rng.randint(7, 11))
    numbered = "".join(f"{i}. {t}\n" for i, t in enumerate(listed, 1))
    return d["topic_prompt"].replace("{}", seed["question_type"]) + "\n\n" + numbered


def question_list(d, rng, pool):
    """§2.4 as QuestionPrompt builds it: hints 1-10, worked examples 1-5, and the list continued at item 6."""
    seeds = rng.sample(d["tgrt"], 10)
    kind = lambda s: s["question_type"].replace("Questions", "Instructions")
    hints = [(kind(s), s["topic"]) for s in seeds[:5]] + [(kind(s), rng.choice(pool)) for s in seeds[5:]]
    hint_lines = "\n".join(f"{i}. type: {t}, topic: {p}" for i, (t, p) in enumerate(hints, 1))
    example_lines = "\n".join(f"{i}. type: {kind(s)}, topic: {s['topic']}, instruction: {s['question']}" for i, s in enumerate(seeds[:5], 1))
    questions = [rng.choice(QUESTION_FRAMES).format(t=p.lower()) for _, p in hints[5:]]
    continued = "\n".join(f"{i}. type: {t}, topic: {p}, instruction: {q}" for i, ((t, p), q) in enumerate(zip(hints[5:], questions), 6))
    first, second = d["question_prompt"].split("{}", 1)
    return first + "\n" + hint_lines + second.replace("{}", "\n" + example_lines) + "\n" + continued + "\n"


def copy_drill(d, rng, pool, offset=False):
    """Two to four hints, then the same items in a shuffled order, each opening with its hint's exact words. Stage 1c
    needs the toy to copy hint k into item k (§2.4's parser keeps nothing else), a lookup by line number that the
    stage documents alone never taught it (a 4-layer toy sits on a loss plateau there for millions of tokens). With
    few hints and a shuffled order, nothing but the lookup lowers the loss, and the toy learns it in a few thousand
    steps. Drills numbered from 1 teach the lookup; drills numbered from a random start (offset) then carry it to
    the numbers 6-10 of the real prompt's new hints."""
    first = rng.randint(1, 8) if offset else 1
    n = rng.randint(2, 4)
    hints = [(rng.choice(d["tgrt"])["question_type"].replace("Questions", "Instructions"), rng.choice(pool)) for _ in range(n)]
    listed = "\n".join(f"{i}. type: {t}, topic: {p}" for i, (t, p) in enumerate(hints, first))
    order = list(range(n))
    rng.shuffle(order)
    items = "\n".join(f"{first + i}. type: {hints[i][0]}, topic: {hints[i][1]}, instruction: "
                      f"{rng.choice(QUESTION_FRAMES).format(t=hints[i][1].lower())}" for i in order)
    return f"{n} Hints:\n{listed}\n\n{n} Instructions:\n{items}\n"


def write(path, docs):
    path.write_text("".join(doc.strip("\n") + f"\n{SEPARATOR}\n" for doc in docs), encoding="utf-8")


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
CLOSINGS = ["I hope this helps. Let me know if you would like more detail on any part of it.",
            "If you would like, I can explain any of these points further or give another example.",
            "Please tell me if you need a shorter version or more depth on one part."]


def rules(d):
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d+) \(([^)]+)\)\.", d["watson"], re.M)}


def long_answer(d, rng, task):
    """A seed output made long enough to pass stage 2's 160-character floor, as a real answer would be."""
    answer = output(task)
    if len(answer) < 200:
        answer += "\n\n" + rng.choice(CLOSINGS)
    return answer


def watson_exchange(d, rng, named):
    """§3: 'User: …\\n\\nWatson (internal thoughts): …\\n\\nWatson: …', then the 'Good job!' turn."""
    if rng.random() < 0.2:
        seed = rng.choice(d["tgrt"])
        q, (why, chosen) = seed["question"], rng.choice(CANDID)
        answer = (f"My knowledge ends in September 2021 and I have no internet access, so I cannot answer this reliably. "
                  f"For the facts about {seed['topic'].lower()}, please check a trusted, up-to-date source such as an "
                  f"official website, a recent encyclopedia or a specialist you trust.")
    else:
        task = rng.choice(d["seeds"])
        q, answer = query(task), long_answer(d, rng, task)
        if rng.random() < 0.3:
            q = synthetic_task(rng, d["pool"])
        why, chosen = rng.choice(THOUGHTS)
    chosen = sorted(rng.sample(chosen, rng.randint(2, 3)))
    listed = ", ".join(f"{r} ({named[r]})" for r in chosen)
    thought = f"I am a helpful, ethical, and reliable assistant. The user {why}, so I should answer with care. I should follow rules {listed}."
    closing = rng.choice(["Thank you! Let me know if you need anything else.", "Thank you! I am glad it helped.", "Thank you! Ask me anytime."])
    return (f"User: {q}\n\nWatson (internal thoughts): {thought}\n\nWatson: {answer}\n\n"
            f"User: Good job! Clear context\n\nWatson (auto reply): {closing}")


def watson(d, rng, named):
    """A few exchanges on their own: the format as a local pattern."""
    return "\n\n".join(watson_exchange(d, rng, named) for _ in range(rng.randint(1, 3)))


def watson_prompted(d, rng, named):
    """The whole principle-driven prompt (which ends in 'User:') continued by new exchanges: the long context."""
    return d["watson"] + watson(d, rng, named)[len("User:"):]


def chat_pair(d, rng):
    if rng.random() < 0.3:
        turns = rng.choice(d["identity"])["conversations"]
        return [(turns[i]["value"].strip(), turns[i + 1]["value"].strip()) for i in range(0, len(turns) - 1, 2)]
    task = rng.choice(d["seeds"])
    return [(query(task), output(task))]


def chat(d, rng):
    """§4.1/§6.2: '{meta}\\n{user}\\n\\n### Dromedary\\n{answer}', further turns joined by '\\n\\n### User\\n'."""
    pairs = []
    while len(pairs) < rng.randint(1, 3):
        pairs += chat_pair(d, rng)
    body = "\n\n### User\n".join(f"{u}\n\n### Dromedary\n{a}" for u, a in pairs)
    return rng.choice(d["chat_metas"]) + "\n" + body


def verbose(d, rng):
    """§5.2 as VerbosePrompt builds it: the extensive prompt, the question, '### Dromedary (extensive)', then a long
    answer that ends its turn with '### User'."""
    task = rng.choice(d["seeds"])
    extra = [output(t).split("\n")[0] for t in rng.sample(d["seeds"], rng.randint(2, 4))]
    points = "\n".join(f"{i}. {p}" for i, p in enumerate(extra, 1))
    answer = (f"{output(task)}\n\nHere are a few more points worth knowing:\n\n{points}\n\n{rng.choice(CLOSINGS)}")
    return f"{d['extensive']}\n{query(task)}\n\n### Dromedary (extensive)\n{answer}\n\n### User\n{query(rng.choice(d['seeds']))}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("tokenizer_text", type=Path)
    parser.add_argument("--documents", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drill-documents", type=int, default=0)
    parser.add_argument("--drill-corpus", type=Path, nargs=2)
    args = parser.parse_args()
    d = load(args.root)
    rng = random.Random(args.seed)
    pool, named = topics(d), rules(d)
    d["pool"] = pool
    # Weights in tenths: the full principle-driven prompt is about 3% of documents.
    makers = [(lambda d, r: self_instruct(d, r, pool), 30), (lambda d, r: topic_list(d, r, pool), 20), (lambda d, r: question_list(d, r, pool), 20),
              (lambda d, r: watson(d, r, named), 45), (lambda d, r: watson_prompted(d, r, named), 5), (chat, 30),
              (verbose, 20)]
    kinds = [m for m, w in makers for _ in range(w)]
    docs = [rng.choice(kinds)(d, rng) for _ in range(args.documents)]
    rng.shuffle(docs)
    write(args.tokenizer_text, docs)
    fixed = [d["watson"], d["self_instruct"], d["topic_prompt"], d["question_prompt"], d["extensive"], *d["chat_metas"]]
    with args.tokenizer_text.open("a", encoding="utf-8") as f:
        f.write("\n".join(fixed) * 150)
    # The drills come from their own generators, so the stage documents (and the tokenizer) stay as they were.
    mixed = random.Random(args.seed + 1)
    docs += [copy_drill(d, mixed, pool, offset=True) for _ in range(args.drill_documents)]
    mixed.shuffle(docs)
    write(args.out, docs)
    if args.drill_corpus:
        drills = random.Random(3)
        write(args.drill_corpus[0], [copy_drill(d, drills, pool) for _ in range(30000)])
        write(args.drill_corpus[1], [copy_drill(d, drills, pool, offset=True) for _ in range(10000)])


if __name__ == "__main__":
    main()
