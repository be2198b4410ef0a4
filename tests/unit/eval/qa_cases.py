"""A varied QA fixture: per language, (gold answers, prediction) pairs in SQuAD/MLQA form.

The expected scores in test_metrics.py were computed by running the official MLQA v1 evaluation
script (outside this repository) on exactly these cases.
"""

CASES: dict[str, list[tuple[list[str], str | None]]] = {
    "en": [
        (["the Eiffel Tower"], "Eiffel Tower."),
        (["Denver Broncos", "The Broncos"], "the denver broncos won"),
        (["1998"], "In 1998, it opened"),
        (["an apple a day"], "A day, an apple!"),
        (["Santa Clara"], "San Francisco"),
        (["$5 million"], "5 million"),
        (["the"], "a"),
        (["New York"], None),
    ],
    "es": [
        (["la Ciudad de México"], "Ciudad de México"),
        (["Los Ángeles", "los angeles"], "en los Ángeles"),
        (["unos 200 años"], "200 años aproximadamente"),
        (["el río Amazonas"], "El Amazonas, un río"),
        (["¿Quién?"], "quién"),
    ],
    "de": [
        (["der Rhein"], "Rhein"),
        (["Die Straße"], "die strasse"),
        (["einem großen Haus"], "ein großes Haus"),
        (["Müller und Söhne"], "Müller & Söhne"),
        (["des Kaisers"], "Kaiser"),
    ],
    "ar": [
        (["القاهرة"], "قاهرة"),
        (["مدينة القاهرة"], "القاهرة"),
        (["عام 1952"], "في عام ١٩٥٢"),
        (["الملك فاروق"], "الملك، فاروق؟"),
        (["بالاتفاق"], "الاتفاق"),
        (["جمال عبد الناصر"], "عبد الناصر"),
    ],
    "hi": [
        (["भारत की राजधानी"], "भारत की राजधानी।"),
        (["नई दिल्ली"], "दिल्ली"),
        (["महात्मा गांधी"], "गांधी जी"),
        (["1947"], "सन् 1947 में"),
        (["गंगा नदी"], "यमुना"),
    ],
    "vi": [
        (["thủ đô của Việt Nam"], "Thủ đô Việt Nam"),
        (["những con mèo"], "con mèo"),
        (["Hà Nội"], "hà nội."),
        (["chiếc xe đạp"], "cái xe đạp màu đỏ"),
        (["năm 1945"], "1945"),
    ],
    "zh": [
        (["北京"], "北京。"),
        (["中华人民共和国"], "中华人民共和国成立于1949年"),
        (["《红楼梦》"], "红楼梦"),
        (["2008年北京奥运会"], "2008年的北京奥运会"),
        (["Apple公司", "苹果公司"], "apple 公司"),
        (["长江"], "黄河"),
        (["孙中山先生"], "孫中山"),
    ],
}


# (exact_match, f1) in percent from the official script, and each prediction's normalised form.
OFFICIAL = {
    "en": (
        37.5,
        52.5,
        ["eiffel tower", "denver broncos won", "in 1998 it opened", "day apple", "san francisco", "5 million", ""],
    ),
    "es": (
        40.0,
        89.33333333333334,
        ["ciudad de méxico", "en ángeles", "200 años aproximadamente", "amazonas río", "quién"],
    ),
    "de": (20.0, 45.99999999999999, ["rhein", "strasse", "großes haus", "müller söhne", "kaiser"]),
    "ar": (33.333333333333336, 75.55555555555556, ["قاهرة", "قاهرة", "في عام ١٩٥٢", "ملك فاروق", "اتفاق", "عبد ناصر"]),
    "hi": (20.0, 53.33333333333333, ["भारत की राजधानी", "दिल्ली", "गांधी जी", "सन् 1947 में", "यमुना"]),
    "vi": (60.0, 86.66666666666666, ["thủ đô việt nam", "con mèo", "hà nội", "xe đạp màu đỏ", "1945"]),
    "zh": (
        42.857142857142854,
        73.85964912280701,
        [
            "北 京",
            "中 华 人 民 共 和 国 成 立 于 1949 年",
            "红 楼 梦",
            "2008 年 的 北 京 奥 运 会",
            "apple 公 司",
            "黄 河",
            "孫 中 山",
        ],
    ),
}
# Per-example (EM, F1) from the official script.
OFFICIAL_PER_EXAMPLE = {
    "en": [(1, 1.0), (0, 0.8), (0, 0.4), (0, 1.0), (0, 0.0), (1, 1.0), (1, 0.0), None],
    "ar": [(1, 1.0), (0, 0.6666666666666666), (0, 0.4), (1, 1.0), (0, 0.6666666666666666), (0, 0.8)],
    "zh": [(1, 1.0), (0, 0.7368421052631579), (1, 1.0), (0, 0.9333333333333333), (1, 1.0), (0, 0.0), (0, 0.5)],
}


def squad(lang: str) -> dict:
    cases = CASES[lang]
    qas = [
        {"id": f"{lang}-{i}", "question": "q", "answers": [{"text": g, "answer_start": 0} for g in golds]}
        for i, (golds, _) in enumerate(cases)
    ]
    return {"version": "1.0", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}]}
