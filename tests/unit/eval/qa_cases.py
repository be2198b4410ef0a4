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
