"""Protected attributes, found by a column's name or by its values.

The attributes a lender may not decide on (ECOA / Regulation B, the EU and national
equal-treatment laws): sex and gender, race and ethnicity, age, marital and family status,
religion, national origin and citizenship, receipt of public assistance, disability. Names
are read in English, German, French and Spanish, in any case, with the usual prefixes and
suffixes (``is_``, ``has_``, ``applicant_``, ``co_applicant_``, ``app_``, ``_flag``, ``_ind``,
``_code``, ...) and abbreviations (``dob``, ``yob``, ``eth``, ``gndr``).

A name can be the attribute (``gender``, ``geschlecht``, ``date_of_birth``) or one group
of it, as when a table has one 0/1 column per group (``black``, ``white``, ``asian``,
``is_female``, ``eth_hispanic``): :attr:`Protected.group` names that group, and fairness
joins such columns into one attribute. Look-alikes stay features: a group word must be the
whole meaning of the name (``blacklist_count``, ``white_label_product`` are not protected),
"age" of a thing is not an age (``age_of_account_months``, ``credit_age``), a foreign
currency is not a foreigner, and ``marketing_segment`` is nobody's sex.

Standard library only: fairness grouping uses it in the service too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from creditscore.data.names import fold, person, tokens, without_affixes

__all__ = [
    "ATTRIBUTES",
    "Protected",
    "protected_by_name",
    "protected_by_values",
    "sensitive_by_name",
]

SEX = "sex"
RACE = "race"
ETHNICITY = "ethnicity"
AGE = "age"
MARITAL = "marital status"
FAMILY = "family status"
RELIGION = "religion"
ORIGIN = "national origin"
ASSISTANCE = "public assistance"
DISABILITY = "disability"
#: Every attribute this module can name, in the order reports list them.
ATTRIBUTES = (SEX, RACE, ETHNICITY, AGE, MARITAL, FAMILY, RELIGION, ORIGIN, ASSISTANCE, DISABILITY)


@dataclass(frozen=True)
class Protected:
    """Why a column is a protected attribute.

    ``form``: how it holds the attribute (``name``, ``group flag``, ``date of birth``,
    ``year of birth``, ``age flag``, ``values``); ``group``: for a column that stands for
    one group (``black``, ``female``), that group; ``person``: ``co-applicant`` or empty.
    """

    attribute: str
    form: str
    evidence: str
    group: str | None = None
    person: str = ""

    @property
    def family(self) -> str:
        """The attribute a one-column-per-group flag belongs to, with its person
        (``race``, ``co-applicant sex``): fairness joins the flags of one family."""
        return f"{self.person} {self.attribute}".strip()

    def reason(self) -> str:
        """The line ``init`` prints and writes beside the column."""
        who = f" of the {self.person}" if self.person else ""
        if self.form == "values":
            return f"protected: {self.attribute}{who} (by values, e.g. {self.evidence})"
        if self.group:
            return (
                f"protected: {self.attribute}{who}, the group {self.group!r} "
                f"(by name: {self.evidence!r})"
            )
        what = "" if self.form == "name" else f", {self.form}"
        return f"protected: {self.attribute}{who}{what} (by name: {self.evidence!r})"


# ---------------------------------------------------------------------------- vocabulary
def _words(attribute: str, text: str) -> dict[str, str]:
    return dict.fromkeys(text.split(), attribute)


#: A word that names the attribute itself, wherever it stands in the name.
_ATTRIBUTE_WORDS: dict[str, str] = {
    **_words(SEX, "sex sexes gender genders gndr geschlecht sexe genre sexo genero"),
    **_words(RACE, "race races racial rasse raza hautfarbe"),
    **_words(
        ETHNICITY,
        "ethnic ethnicity ethnicities ethnie ethnique ethnisch ethnizitaet etnia etnico etnicidad",
    ),
    **_words(
        AGE,
        "age ages aged alter edad dob yob birth births birthdate birthday birthyear geburt "
        "geburtsdatum geburtsjahr geburtstag naissance nacimiento",
    ),
    **_words(
        MARITAL,
        "marital marriage married unmarried familienstand verheiratet ledig geschieden "
        "verwitwet matrimonial matrimoniale casado casada soltero soltera celibataire",
    ),
    **_words(FAMILY, "pregnant pregnancy maternity schwanger schwangerschaft embarazo enceinte"),
    **_words(
        RELIGION,
        "religion religions religious relig faith konfession confession religionszugehoerigkeit "
        "kirchensteuer church religioso religiosa religieux religieuse",
    ),
    **_words(
        ORIGIN,
        "nationality nationalities citizenship citizen citizens nationalite nationalitaet "
        "nationalitat nacionalidad ciudadania citoyennete staatsangehoerigkeit "
        "staatsangehorigkeit staatsbuergerschaft staatsburgerschaft foreign foreigner "
        "foreigners auslaender auslander etranger etrangere extranjero extranjera immigrant "
        "immigrants immigration immigre immigrante inmigrante migrant migration "
        "migrationshintergrund alien",
    ),
    **_words(
        ASSISTANCE, "welfare sozialhilfe buergergeld burgergeld grundsicherung hartz tanf medicaid"
    ),
    **_words(
        DISABILITY,
        "disability disabilities disabled handicap handicapped behinderung behindert "
        "schwerbehindert discapacidad discapacitado invalidite invalidez",
    ),
}
#: A word that names one group of an attribute: a one-column-per-group flag's whole name.
_GROUP_WORDS: dict[str, str] = {
    **_words(
        SEX,
        "female females male males woman women man men frau frauen mann maenner weiblich "
        "maennlich mannlich femme femmes homme hommes mujer mujeres hombre hombres femenino "
        "masculino feminin masculin",
    ),
    **_words(
        RACE,
        "black white asian asians caucasian african aian nhpi hawaiian islander pacific "
        "indian indigenous aboriginal negro",
    ),
    **_words(ETHNICITY, "hispanic hispan hisp latino latina latinx latine nonhispanic chicano"),
    **_words(AGE, "senior seniors elderly young youth pensioner"),
    **_words(MARITAL, "single divorced widowed widow widower separated"),
}
#: Words a group's name may also contain (``native_american``, ``other_race``,
#: ``not_hispanic``, ``two_or_more_races``, ``black_alone``).
_CONNECTORS = frozenset(
    {
        "or", "and", "non", "not", "other", "alone", "only", "american", "native", "alaska",
        "alaskan", "two", "more", "multiple", "islander", "hawaiian", "pacific", "mixed", "any",
        "citizen",
    }
)  # fmt: skip
#: Phrases (consecutive words) that name an attribute, checked before single words.
_PHRASES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    *(
        (tuple(p.split()), ORIGIN, "country of birth")
        for p in (
            "country of birth", "birth country", "place of birth", "birth place",
            "pays de naissance", "pays naissance", "lieu de naissance", "pais de nacimiento",
            "pais nacimiento", "lugar de nacimiento", "country of origin", "national origin",
            "origin country", "herkunft", "herkunftsland", "geburtsland", "geburtsort",
        )
    ),
    *(
        (tuple(p.split()), AGE, "date of birth")
        for p in (
            "date of birth", "birth date", "birth dt", "date naissance", "date de naissance",
            "fecha de nacimiento", "fecha nacimiento", "fec nac", "geburts datum",
        )
    ),
    *(
        (tuple(p.split()), AGE, "year of birth")
        for p in (
            "year of birth", "birth year", "yr of birth", "birth yr", "annee de naissance",
            "annee naissance", "ano de nacimiento", "ano nacimiento", "anio nacimiento",
            "anio de nacimiento", "geburts jahr",
        )
    ),
    *((tuple(p.split()), AGE, "age flag") for p in ("senior citizen", "senior citizens")),
    *(
        (tuple(p.split()), ETHNICITY, "name")
        for p in ("ethnic origin", "origine ethnique", "origen etnico")
    ),
    *(
        (tuple(p.split()), MARITAL, "name")
        for p in (
            "estado civil", "etat civil", "civil status", "situation matrimoniale",
            "statut marital", "marital st",
        )
    ),
    *(
        (tuple(p.split()), FAMILY, "name")
        for p in ("family status", "situation familiale", "situation de famille")
    ),
    *(
        (tuple(p.split()), ASSISTANCE, "name")
        for p in (
            "public assistance", "social assistance", "food stamps", "food stamp",
            "aide sociale", "ayuda social", "asistencia publica", "asistencia social",
            "prestations sociales", "social benefits", "welfare benefits", "public benefits",
            "housing benefit", "unemployment benefit", "unemployment benefits",
        )
    ),
)  # fmt: skip
#: "Age" next to one of these is the age of a thing, not of a person.
_AGE_OF_THINGS = frozenset(
    {
        "account", "accounts", "acct", "credit", "loan", "loans", "trade", "trades",
        "tradeline", "tradelines", "oldest", "newest", "youngest", "file", "history", "vehicle",
        "car", "auto", "property", "house", "home", "building", "business", "company", "debt",
        "card", "cards", "relationship", "portfolio", "mortgage", "lien", "collateral", "asset",
        "assets", "bureau", "record", "records", "inquiry", "inquiries", "delinquency", "data",
        "konto", "kredit", "darlehen", "fahrzeug", "compte", "pret", "vehicule", "cuenta",
        "credito", "prestamo", "vehiculo", "receivable", "receivables", "invoice", "balance",
        "avg", "average", "mean", "months", "days",
    }
)  # fmt: skip
#: "Foreign" next to one of these is about money or trade, not a person's origin.
_FOREIGN_THINGS = frozenset(
    {
        "currency", "currencies", "exchange", "fx", "transaction", "transactions", "txn",
        "txns", "trade", "income", "exposure", "bank", "banks", "loan", "account", "card",
        "payment", "payments", "transfer", "transfers", "investment", "assets", "source",
        "purchase", "purchases", "spend", "atm", "fee", "fees", "tax",
    }
)  # fmt: skip
#: Group words that also name ordinary things when other words stand beside them
#: (``senior_debt``, ``single_payment``): the whole name must be the group.
_AGE_FLAG_WORDS = frozenset({"over", "above", "under", "below", "ueber", "unter", "plus", "mas"})


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


_FEMALE = frozenset(
    [
        "female",
        "females",
        "woman",
        "women",
        "frau",
        "frauen",
        "weiblich",
        "femme",
        "femmes",
        "mujer",
        "mujeres",
        "femenino",
        "feminin",
    ]
)
_MALE = frozenset(
    [
        "male",
        "males",
        "man",
        "men",
        "mann",
        "maenner",
        "maennlich",
        "mannlich",
        "homme",
        "hommes",
        "hombre",
        "hombres",
        "masculino",
        "masculin",
    ]
)
_SAME_GROUP = {
    "aian": "american indian or alaska native",
    "nhpi": "pacific islander",
    "nativeamerican": "native american",
    "americanindian": "american indian",
    "pacificislander": "pacific islander",
    "africanamerican": "african american",
    "hispan": "hispanic",
    "hisp": "hispanic",
}


def _group_label(words: list[str]) -> str:
    """One name per group: ``is_woman`` and ``female`` are both the group ``female``."""
    if len(words) == 1 and words[0] in _FEMALE:
        return "female"
    if len(words) == 1 and words[0] in _MALE:
        return "male"
    label = " ".join(words)
    return _SAME_GROUP.get(label, label)


def protected_by_name(name: str) -> Protected | None:
    """Why ``name`` names a protected attribute, or None."""
    words = tokens(name)
    if not words:
        return None
    who = person(words)
    core = without_affixes(words)
    joined = "".join(core)
    # 1. phrases: date of birth, country of birth, estado civil, public assistance, ...
    for phrase, attribute, form in _PHRASES:
        if _contains(words, phrase) or (len(phrase) > 1 and joined.endswith("".join(phrase))):
            return Protected(attribute, form, " ".join(phrase), person=who)
    # 2. one word run together (isfemale, dateofbirth, maritalstatus): strip and look up
    for attribute, form, compound in _COMPOUNDS:
        if joined == compound:
            group = _group_label([compound]) if form == "group flag" else None
            return Protected(attribute, form, compound, group, who)
    stripped = _strip_joined(joined)
    if stripped != joined and len(core) == 1:
        if stripped in _GROUP_WORDS:
            label = _group_label([stripped])
            return Protected(_GROUP_WORDS[stripped], "group flag", name, label, who)
        if stripped in _ATTRIBUTE_WORDS:
            named = _ATTRIBUTE_WORDS[stripped]
            form = _AGE_FORMS.get(stripped, "name") if named == AGE else "name"
            return Protected(named, form, name, person=who)
    # 3. a word naming the word_attr itself
    for w in words:
        word_attr = _ATTRIBUTE_WORDS.get(w)
        if word_attr is None:
            continue
        others = set(words) - {w}
        if (
            word_attr == AGE
            and w in ("age", "ages", "aged", "alter", "edad")
            and others & _AGE_OF_THINGS
        ):
            continue
        if word_attr == ORIGIN and w.startswith("foreign") and others & _FOREIGN_THINGS:
            continue
        if word_attr == ORIGIN and w in ("citizen", "citizens") and "senior" in words:
            return Protected(AGE, "age flag", "senior citizen", person=who)
        if word_attr == AGE and _age_flag(words):
            return Protected(AGE, "age flag", " ".join(core), person=who)
        form = _AGE_FORMS.get(w, "name") if word_attr == AGE else "name"
        beside = [x for x in core if x != w]
        group = (
            _group_label(beside)
            if beside and all(x in _GROUP_WORDS or x in _CONNECTORS for x in beside)
            else None
        )
        return Protected(word_attr, "group flag" if group else form, w, group, who)
    # 4. the name is a group and nothing else: black, is_female, eth_hispanic, over_62
    if _age_flag(words) and len([x for x in core if not x.isdigit()]) == 1:
        return Protected(AGE, "age flag", " ".join(core), person=who)
    eth = "eth" in words
    rest = [x for x in core if x not in _CONNECTORS and x != "eth"]
    if rest and all(x in _GROUP_WORDS for x in rest):
        attribute = _GROUP_WORDS[rest[0]]
        label = _group_label([x for x in core if x != "eth"])
        if attribute in (AGE, MARITAL):
            form = "age flag" if attribute == AGE else "group flag"
            return Protected(attribute, form, " ".join(core), label, who)
        return Protected(attribute, "group flag", " ".join(core), label, who)
    if eth and not rest:  # eth_cd, app_eth: ethnicity by its abbreviation
        return Protected(ETHNICITY, "name", "eth", person=who)
    return None


_AGE_FORMS = {
    "dob": "date of birth",
    "birthdate": "date of birth",
    "birthday": "date of birth",
    "geburtsdatum": "date of birth",
    "geburtstag": "date of birth",
    "yob": "year of birth",
    "birthyear": "year of birth",
    "geburtsjahr": "year of birth",
}
_COMPOUNDS: tuple[tuple[str, str, str], ...] = (
    *((AGE, "date of birth", c) for c in ("dateofbirth", "birthdate", "dtofbirth", "dobdate")),
    *((AGE, "year of birth", c) for c in ("yearofbirth", "birthyear", "yrofbirth")),
    *(
        (ORIGIN, "country of birth", c)
        for c in ("countryofbirth", "birthcountry", "placeofbirth", "birthplace")
    ),
    *((MARITAL, "name", c) for c in ("maritalstatus", "civilstatus", "estadocivil", "etatcivil")),
    *((FAMILY, "name", c) for c in ("familystatus", "familysituation")),
    *((ASSISTANCE, "name", c) for c in ("publicassistance", "foodstamps", "socialassistance")),
    *(
        (RACE, "group flag", c)
        for c in ("nativeamerican", "americanindian", "pacificislander", "africanamerican")
    ),
)  # fmt: skip
_PREFIXES = ("is", "has", "coapplicant", "applicant", "app", "co")
_SUFFIXES = ("flag", "ind", "yn", "cd", "code", "indicator")


def _strip_joined(joined: str) -> str:
    text = joined
    for p in _PREFIXES:
        if text.startswith(p) and len(text) > len(p) + 2:
            text = text[len(p) :]
            break
    for s in _SUFFIXES:
        if text.endswith(s) and len(text) > len(s) + 2:
            text = text[: -len(s)]
            break
    return text


def _age_flag(words: list[str]) -> bool:
    """``age_over_62``, ``over_65``, ``age_under_25``: a word such as over, then an age."""
    for a, b in pairwise(words):
        if a in _AGE_FLAG_WORDS and b.isdigit() and 14 <= int(b) <= 99:
            return not (
                {"days", "day", "dpd", "months", "month", "past", "due", "late"} & set(words)
            )
    return False


def sensitive_by_name(name: str) -> str | None:
    """The protected attribute a column's name refers to, if any."""
    found = protected_by_name(name)
    return None if found is None else found.attribute


# ---------------------------------------------------------------------------- values
_SEX_VALUES = frozenset(_w for _w, _a in _GROUP_WORDS.items() if _a == SEX)
_MARITAL_STRONG = frozenset(
    [
        "married",
        "unmarried",
        "divorced",
        "widowed",
        "widow",
        "widower",
        "verheiratet",
        "geschieden",
        "verwitwet",
        "divorce",
        "divorcee",
        "veuf",
        "veuve",
        "casado",
        "casada",
        "divorciado",
        "divorciada",
        "viudo",
        "viuda",
        "cohabiting",
        "partnership",
    ]
)
_MARITAL_WEAK = frozenset(["single", "separated", "ledig", "celibataire", "soltero", "soltera"])
_RACE_VALUES = frozenset(
    [
        "white",
        "black",
        "asian",
        "caucasian",
        "hispanic",
        "latino",
        "latina",
        "african",
        "american",
        "indian",
        "alaska",
        "hawaiian",
        "islander",
        "pacific",
        "native",
    ]
)
_RELIGION_VALUES = frozenset(
    [
        "christian",
        "catholic",
        "protestant",
        "muslim",
        "islam",
        "islamic",
        "jewish",
        "judaism",
        "hindu",
        "buddhist",
        "sikh",
        "atheist",
        "agnostic",
        "orthodox",
        "evangelical",
        "lutheran",
        "katholisch",
        "evangelisch",
        "muslimisch",
        "juedisch",
        "catolico",
        "musulman",
        "judio",
    ]
)
_ASSISTANCE_PHRASES = (
    "public assistance", "social assistance", "welfare", "food stamp", "sozialhilfe",
    "buergergeld", "burgergeld", "grundsicherung", "hartz", "aide sociale", "asistencia",
    "tanf", "medicaid",
)  # fmt: skip
_ORIGIN_VALUES = frozenset(
    [
        "noncitizen",
        "non-citizen",
        "foreigner",
        "foreign",
        "immigrant",
        "alien",
        "auslaender",
        "etranger",
        "extranjero",
    ]
)


def protected_by_values(values: Iterable[object]) -> Protected | None:
    """Why a column's distinct values (as text) make it a protected attribute: sexes
    (M/F, male/female, in four languages), marital states, races, religions, receipt of
    public assistance (an income source), citizenship. None otherwise."""
    texts = [str(v) for v in values]
    folded = [fold(t).strip().casefold() for t in texts]
    keys = set(folded)
    if {"m", "f"} <= keys and keys <= {"m", "f", "u", "x", "d", "other", "unknown", "o"}:
        example = next(t for t, k in zip(texts, folded, strict=True) if k in ("m", "f"))
        return Protected(SEX, "values", repr(example))
    marital_seen: set[str] = set()
    strong: list[str] = []
    weak: list[str] = []
    race_hits: list[str] = []
    religion_hits: list[str] = []
    for text, key in zip(texts, folded, strict=True):
        words = set(re.findall(r"[a-z]+", key))
        if words & _SEX_VALUES:
            return Protected(SEX, "values", repr(text))
        if any(p in key for p in _ASSISTANCE_PHRASES):
            return Protected(ASSISTANCE, "values", repr(text))
        if words & _ORIGIN_VALUES or "citizen" in words or "citizens" in words:
            return Protected(ORIGIN, "values", repr(text))
        marital_seen |= words & (_MARITAL_STRONG | _MARITAL_WEAK)
        if words & _MARITAL_STRONG:
            strong.append(text)
        elif words & _MARITAL_WEAK:
            weak.append(text)
        if words & _RACE_VALUES:
            race_hits.append(text)
        if words & _RELIGION_VALUES:
            religion_hits.append(text)
    if strong or len(marital_seen) >= 2:
        return Protected(MARITAL, "values", repr((strong or weak)[0]))
    n = max(len(keys), 1)
    if len(race_hits) >= 2 and len(race_hits) >= 0.5 * n:
        return Protected(RACE, "values", repr(race_hits[0]))
    if len(religion_hits) >= 2 and len(religion_hits) >= 0.5 * n:
        return Protected(RELIGION, "values", repr(religion_hits[0]))
    return None
