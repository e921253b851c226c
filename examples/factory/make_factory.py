"""Write factory.csv: a small, generated proof-of-concept task file in itprobe's user CSV format (three
tasks a factory might try: ticket priority, complaint topic, a tolerance check), used by the worked
examples of docs/audit.md. Deterministic: ``python examples/factory/make_factory.py`` rewrites the same file.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

TICKETS = {
    "high": [
        "Hydraulic press {n} leaking oil onto the walkway, line stopped",
        "Conveyor {n} emergency stop does not trip, operators at risk",
        "Furnace {n} over temperature alarm, production halted",
        "Robot cell {n} guard door sensor broken, cell running unguarded",
    ],
    "medium": [
        "Lathe {n} vibrates above normal at high speed, parts still in spec",
        "Compressor {n} takes twice as long to reach pressure",
        "Packaging line {n} jams about once per shift",
        "Drill {n} coolant flow weak, tool wear increasing",
    ],
    "low": [
        "Paint chipped on the cover of press {n}",
        "Please schedule the yearly inspection of crane {n}",
        "Label on cabinet {n} is faded",
        "Request a spare key for tool locker {n}",
    ],
}
COMPLAINTS = {
    "delivery": [
        "Order {n} arrived nine days late",
        "We received order {n} at the wrong site",
        "The pallet for order {n} never arrived",
    ],
    "quality": [
        "Half of the bolts in order {n} have damaged threads",
        "The housings of order {n} crack under normal load",
        "Surface finish of order {n} is rough and uneven",
    ],
    "billing": [
        "Invoice {n} charges us twice for freight",
        "The unit price on invoice {n} is not the agreed one",
        "Invoice {n} lists items we never ordered",
    ],
}
DEFINITIONS = {
    "ticket_priority": (
        'Classify the maintenance ticket by priority. Answer "high" when production is stopped or someone '
        'could be hurt, "medium" when a machine still works but is degraded, and "low" for cosmetic issues '
        "and planning requests."
    ),
    "complaint_topic": (
        'Give the topic of the customer complaint: "delivery" for late, lost or misrouted shipments, '
        '"quality" for defective parts, "billing" for invoice errors.'
    ),
    "tolerance_check": (
        "A shaft passes inspection when its measured diameter is within 0.05 mm of the nominal 12.00 mm. "
        'Answer "OK" if the shaft passes and "NOT OK" otherwise.'
    ),
}
LABELS = {
    "ticket_priority": "high|medium|low",
    "complaint_topic": "delivery|quality|billing",
    "tolerance_check": "OK|NOT OK",
}


def _text_rows(pools: dict[str, list[str]], rng: random.Random, n: int) -> list[tuple[str, str]]:
    labels = list(pools)
    return [
        (rng.choice(pools[g]).format(n=rng.randint(100, 999)), g)
        for g in (labels[i % len(labels)] for i in range(n))
    ]


def _tolerance_rows(rng: random.Random, n: int) -> list[tuple[str, str]]:
    rows = []
    for i in range(n):
        off = rng.choice([0.0, 0.01, 0.02, 0.03, 0.04]) if i % 2 == 0 else rng.choice([0.06, 0.08, 0.1, 0.15])
        value = 12.0 + off * rng.choice([-1, 1])
        rows.append(
            (
                f"Shaft {rng.randint(1000, 9999)}: measured diameter {value:.2f} mm.",
                "OK" if i % 2 == 0 else "NOT OK",
            )
        )
    return rows


OUT = Path(__file__).with_name("factory.csv")


def main(out: Path = OUT, per_task: int = 16) -> None:
    rng = random.Random(29)
    made = {
        "ticket_priority": _text_rows(TICKETS, rng, per_task + 2),
        "complaint_topic": _text_rows(COMPLAINTS, rng, per_task + 2),
        "tolerance_check": _tolerance_rows(rng, per_task + 2),
    }
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(
            fh, ["task", "id", "definition", "input", "output", "labels", "role", "explanation"]
        )
        writer.writeheader()
        for task, rows in made.items():
            for i, (text, gold) in enumerate(rows):
                demo = i < 2  # the first two rows of each task are its demonstrations
                writer.writerow(
                    {
                        "task": task,
                        "id": f"{task}-demo{i}" if demo else f"{task}-{i - 2}",
                        "definition": DEFINITIONS[task],
                        "input": text,
                        "output": gold,
                        "labels": LABELS[task],
                        "role": "positive" if demo else "",
                        "explanation": "Follows the definition." if demo else "",
                    }
                )


if __name__ == "__main__":
    main()
