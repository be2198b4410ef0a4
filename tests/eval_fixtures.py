"""Small evaluation datasets in each benchmark's native format, written by the tests themselves.

The texts are short sentences written for these tests; the layouts and columns are those of the
real distributions (XQuAD/MLQA SQuAD JSON, FLORES-200 text files, PAWS-X and XNLI TSV, MARC JSON
lines, MGSM TSV, polyinstruct_v1 JSONL).
"""

from __future__ import annotations

import json
from pathlib import Path

POLYMT_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "polymt"
"""polymt_v1's format in three languages (en, es, fr) × ten sentences written by hand for the tests:
pm001–pm010, every 5th dev, the five domains in turn."""

QA = {
    "en": [
        (
            "Madrid is the capital of Spain. It has more than three million inhabitants.",
            [
                ("q1", "What is the capital of Spain?", ["Madrid"]),
                ("q2", "How many people live in Madrid?", ["more than three million"]),
            ],
        ),
        (
            "The Amazon river crosses Brazil and flows into the Atlantic Ocean.",
            [
                ("q3", "Where does the Amazon flow?", ["into the Atlantic Ocean", "the Atlantic Ocean"]),
                ("q4", "Which country does it cross?", ["Brazil"]),
            ],
        ),
    ],
    "es": [
        (
            "Madrid es la capital de España. Tiene más de tres millones de habitantes.",
            [
                ("q1", "¿Cuál es la capital de España?", ["Madrid"]),
                ("q2", "¿Cuántas personas viven en Madrid?", ["más de tres millones"]),
            ],
        ),
        (
            "El río Amazonas atraviesa Brasil y desemboca en el océano Atlántico.",
            [
                ("q3", "¿Dónde desemboca el Amazonas?", ["en el océano Atlántico"]),
                ("q4", "¿Qué país atraviesa?", ["Brasil"]),
            ],
        ),
    ],
    "zh": [
        (
            "北京是中国的首都，有两千多万人口。",
            [("q1", "中国的首都是哪里？", ["北京"]), ("q2", "北京有多少人口？", ["两千多万"])],
        )
    ],
    "th": [("กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย", [("q1", "เมืองหลวงของประเทศไทยคืออะไร", ["กรุงเทพมหานคร"])])],
}


def squad_doc(lang: str) -> dict:
    data = [
        {
            "title": f"doc{k}",
            "paragraphs": [
                {
                    "context": ctx,
                    "qas": [
                        {
                            "id": qid,
                            "question": q,
                            "answers": [{"text": a, "answer_start": max(ctx.find(a), 0)} for a in answers],
                        }
                        for qid, q, answers in qas
                    ],
                }
            ],
        }
        for k, (ctx, qas) in enumerate(QA[lang])
    ]
    return {"version": "1.0", "data": data}


def write_xquad(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for lang in QA:
        (root / f"xquad.{lang}.json").write_text(json.dumps(squad_doc(lang), ensure_ascii=False), encoding="utf-8")
    return root


def write_mlqa(root: Path) -> Path:
    """MLQA layout: test/test-context-es-question-es.json, dev/dev-context-es-question-es.json."""
    for split in ("test", "dev"):
        (root / split).mkdir(parents=True, exist_ok=True)
        for c in ("es", "en"):
            q = c
            doc = squad_doc(c)
            if split == "dev":
                doc["data"] = doc["data"][:1]
            (root / split / f"{split}-context-{c}-question-{q}.json").write_text(
                json.dumps(doc, ensure_ascii=False), encoding="utf-8"
            )
    return root


FLORES = {
    "eng_Latn": [
        "The cat sleeps on the mat.",
        "I like green apples.",
        "The train leaves at noon.",
        "Good morning.",
        "Thank you very much.",
    ],
    "spa_Latn": [
        "El gato duerme en la alfombra.",
        "Me gustan las manzanas verdes.",
        "El tren sale a mediodía.",
        "Buenos días.",
        "Muchas gracias.",
    ],
    "zho_Hans": ["猫在垫子上睡觉。", "我喜欢青苹果。", "火车中午出发。", "早上好。", "非常感谢。"],
}


def write_flores200(root: Path) -> Path:
    """FLORES-200 layout: dev/{code}.dev and devtest/{code}.devtest, one sentence a line."""
    for split, rows in (("devtest", slice(0, 3)), ("dev", slice(3, 5))):
        (root / split).mkdir(parents=True, exist_ok=True)
        for code, sents in FLORES.items():
            (root / split / f"{code}.{split}").write_text("\n".join(sents[rows]) + "\n", encoding="utf-8")
    return root


PAWSX = [
    ("1", "El gato duerme en el sofá.", "En el sofá duerme el gato.", 1),
    ("2", "Compró pan por la mañana.", "Vendió pan por la tarde.", 0),
    ("3", "La reunión empieza a las diez.", "A las diez empieza la reunión.", 1),
    ("4", "El río está muy crecido.", "La montaña es muy alta.", 0),
]


def write_pawsx(root: Path) -> Path:
    """PAWS-X layout: x-final/es/test_2k.tsv and dev_2k.tsv (id, sentence1, sentence2, label)."""
    d = root / "x-final" / "es"
    d.mkdir(parents=True, exist_ok=True)
    for name, rows in (("test_2k.tsv", PAWSX), ("dev_2k.tsv", PAWSX[:2])):
        lines = ["id\tsentence1\tsentence2\tlabel"] + [f"{i}\t{a}\t{b}\t{y}" for i, a, b, y in rows]
        (d / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


XNLI_HEADER = [
    "language",
    "gold_label",
    "sentence1_binary_parse",
    "sentence2_binary_parse",
    "sentence1_parse",
    "sentence2_parse",
    "sentence1",
    "sentence2",
    "promptID",
    "pairID",
    "genre",
    "label1",
    "label2",
    "label3",
    "label4",
    "label5",
    "sentence1_tokenized",
    "sentence2_tokenized",
    "match",
]
XNLI = [
    ("es", "entailment", "Ella compró un coche rojo.", "Ella compró un coche.", "11"),
    ("es", "contradiction", "El museo está cerrado hoy.", "El museo está abierto hoy.", "12"),
    ("es", "neutral", "Juan llegó tarde.", "Juan perdió el autobús.", "13"),
    ("en", "entailment", "She bought a red car.", "She bought a car.", "11"),
]


def write_xnli(root: Path) -> Path:
    """XNLI-1.0/xnli.test.tsv with the distribution's 19 columns (rows of several languages)."""
    d = root / "XNLI-1.0"
    d.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(XNLI_HEADER)]
    for lang, gold, s1, s2, pid in XNLI:
        values = {
            "language": lang,
            "gold_label": gold,
            "sentence1": s1,
            "sentence2": s2,
            "pairID": pid,
            "promptID": pid,
            "genre": "fiction",
            "match": "True",
        }
        lines.append("\t".join(values.get(h, "x") for h in XNLI_HEADER))
    (d / "xnli.test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


MARC = [
    ("es_1", 5, "Excelente", "Funciona perfectamente, lo recomiendo."),
    ("es_2", 1, "Horrible", "Se rompió el primer día."),
    ("es_3", 3, "Normal", "Ni bueno ni malo."),
    ("es_4", 2, "Flojo", "La calidad es peor de lo esperado."),
]


def write_marc(root: Path) -> Path:
    """MARC JSON lines: dataset_es_test.json (review_id, stars, review_title, review_body ...)."""
    root.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "review_id": i,
            "product_id": "p",
            "reviewer_id": "r",
            "stars": s,
            "review_body": b,
            "review_title": t,
            "language": "es",
            "product_category": "home",
        }
        for i, s, t, b in MARC
    ]
    (root / "dataset_es_test.json").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return root


MGSM = [
    ("Juan tiene 3 manzanas y compra 2 más. ¿Cuántas manzanas tiene?", "5"),
    ("Un tren lleva 10 personas y bajan 4. ¿Cuántas quedan?", "6"),
    ("Ana lee 1,200 páginas en 4 semanas. ¿Cuántas páginas lee por semana?", "300"),
]


def write_mgsm(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "mgsm_es.tsv").write_text("".join(f"{q}\t{a}\n" for q, a in MGSM), encoding="utf-8")
    return root


POLYINSTRUCT = [
    (
        "pi-0001",
        "train",
        {
            "en": ("Name three colours.", "", "Red, green and blue."),
            "es": ("Nombra tres colores.", "", "Rojo, verde y azul."),
        },
    ),
    (
        "pi-0002",
        "test",
        {
            "en": ("Say hello politely.", "", "Hello, nice to meet you."),
            "es": ("Saluda con educación.", "", "Hola, encantado de conocerte."),
        },
    ),
    (
        "pi-0003",
        "test",
        {"en": ("Translate the word.", "cat", "gato"), "es": ("Traduce la palabra al inglés.", "gato", "cat")},
    ),
]


def write_polyinstruct(path: Path) -> Path:
    """The agreed polyinstruct_v1 format: one object a line with per-language alpaca records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "id": i,
            "split": split,
            "category": "general",
            "langs": {lang: {"instruction": a, "input": b, "output": c} for lang, (a, b, c) in by_lang.items()},
        }
        for i, split, by_lang in POLYINSTRUCT
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# polyqa_v1's format: SQuAD JSON per language, a `split` marker per paragraph (dev: demonstrations).
POLYQA = {
    "en": [
        ("dev", "The river Tajo reaches the sea at Lisbon.", "Where does the Tajo reach the sea?", "Lisbon"),
        ("test", "Anna bakes bread every Sunday morning.", "When does Anna bake bread?", "every Sunday morning"),
        ("test", "The old bridge has seven arches.", "How many arches does the bridge have?", "seven"),
    ],
    "es": [
        ("dev", "El río Tajo llega al mar en Lisboa.", "¿Dónde llega el Tajo al mar?", "Lisboa"),
        ("test", "Ana hornea pan cada domingo por la mañana.", "¿Cuándo hornea pan Ana?", "cada domingo por la mañana"),
        ("test", "El puente viejo tiene siete arcos.", "¿Cuántos arcos tiene el puente?", "siete"),
    ],
}


def write_polyqa(root: Path) -> Path:
    """``root/{lang}.json`` for en and es, three parallel paragraphs each (one dev, two test)."""
    root.mkdir(parents=True, exist_ok=True)
    for lang, items in POLYQA.items():
        paragraphs = [
            {
                "id": f"p{i}",
                "split": split,
                "context": ctx,
                "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": ctx.index(a)}]}],
            }
            for i, (split, ctx, q, a) in enumerate(items)
        ]
        doc = {"version": "fixture", "data": [{"title": "t", "paragraphs": paragraphs}]}
        (root / f"{lang}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return root


# polysent_v1's format: a header with label words per language, then one item a line.
POLYSENT = [
    ("s1", "demo", "positive", "I love this lamp.", "Me encanta esta lámpara."),
    ("s2", "demo", "negative", "The lid broke at once.", "La tapa se rompió enseguida."),
    ("s3", "test", "positive", "Great coffee, fresh and strong.", "Café estupendo, fresco y fuerte."),
    ("s4", "test", "negative", "Cold food and slow service.", "Comida fría y servicio lento."),
    ("s5", "test", "negative", "The shoes hurt after an hour.", "Los zapatos duelen después de una hora."),
]


def write_polysent(path: Path) -> Path:
    header = {
        "header": True,
        "version": "fixture",
        "languages": ["en", "es"],
        "labels": {
            "en": {"positive": "positive", "negative": "negative"},
            "es": {"positive": "positivo", "negative": "negativo"},
        },
    }
    lines = [header] + [{"id": i, "split": s, "label": y, "text": {"en": en, "es": es}} for i, s, y, en, es in POLYSENT]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return path
