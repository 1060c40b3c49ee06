"""Configuration of rupn-bot, read from a TOML file.

`load_config` reads the file, `parse_config` validates an already parsed
mapping. Both raise `ConfigError`, whose text is French and lists every
problem on its own line, each line naming the dotted key it is about::

    bot.max_sends_per_second : doit être un nombre strictement positif (reçu : 0)

Loading has no side effect: nothing is created on disk, nothing is logged.
The password is a `SecretStr`: it never appears in a repr nor in an error
message (the value of an unknown key is never echoed either, since it may be a
misspelt ``password``).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails

from bot.errors import RupnError

PASSWORD_ENV_VAR = "RUPN_BOT_PASSWORD"  # noqa: S105 (a variable name, not a secret)
"""Environment variable that supplies (or overrides) ``matrix.password``."""

TCHAP_EDUCATION_HOMESERVER = "https://matrix.agent.education.tchap.gouv.fr"
"""Homeserver of the French education agents on Tchap."""

# Historical Matrix user ids allow any printable ASCII but ':' in the localpart;
# the server name is a host name, an IPv4 address or a bracketed IPv6 address,
# with an optional port.
_USER_ID_RE = re.compile(
    r"@[\x21-\x39\x3b-\x7e]+"
    r":(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::[0-9]{1,5})?"
)
_USER_ID_MAX_LENGTH = 255
_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")


class ConfigError(RupnError):
    """The configuration cannot be used.

    `str(error)` is French text: one problem per line. `problems` holds the
    same lines as a tuple.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        lines = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__("\n".join(lines))
        self.problems: tuple[str, ...] = lines


class _UnechoedValueError(ValueError):
    """A validation failure whose input must not be repeated (it holds a secret)."""


def _check_user_id(value: str) -> str:
    if len(value) > _USER_ID_MAX_LENGTH:
        raise ValueError(
            f"identifiant Matrix trop long ({len(value)} caractères, "
            f"{_USER_ID_MAX_LENGTH} au maximum)"
        )
    if _USER_ID_RE.fullmatch(value) is None:
        raise ValueError(
            "doit être un identifiant Matrix de la forme @nom:serveur, "
            "par exemple @prenom.nom:agent.education.tchap.gouv.fr"
        )
    localpart, server = value.split(":", 1)
    if localpart != localpart.lower():
        # Matrix user ids are lower case: a capital letter can never match a sender.
        raise ValueError(
            "contient des majuscules : les identifiants Matrix s’écrivent en minuscules, "
            f"écrivez « {localpart.lower()}:{server} »"
        )
    return value


UserId = Annotated[str, AfterValidator(_check_user_id)]
"""A Matrix user id such as ``@rupn:example.org``."""

# Room ids are opaque ("!abc:server", or "!abc" since room version 12); aliases are #name:server.
_ROOM_RE = re.compile(r"![^\s]+|#[^\s:]+:[A-Za-z0-9.\-\[\]:]+")


def _check_room(value: str) -> str:
    if _ROOM_RE.fullmatch(value) is None:
        raise ValueError(
            "doit être un identifiant de salon (commençant par « ! ») ou une adresse de salon "
            "(#salle-des-profs:serveur)"
        )
    return value


RoomRef = Annotated[str, AfterValidator(_check_room)]
"""A room id (``!abc:server``) or alias (``#name:server``)."""


def _check_feed_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("doit être l’adresse web d’un flux RSS ou Atom, commençant par https://")
    return value


class MatrixSettings(BaseModel):
    """The ``[matrix]`` section: which account the bot uses, on which homeserver."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    homeserver: str
    user_id: UserId
    password: SecretStr | None = None
    device_name: str = Field(default="rupn-bot", min_length=1)
    cross_signing: bool = True
    """Sign the bot's device with its account's identity (Element and Tchap require it)."""

    @field_validator("homeserver")
    @classmethod
    def _check_homeserver(cls, value: str) -> str:
        example = f"par exemple {TCHAP_EDUCATION_HOMESERVER}"
        if not value or value != value.strip() or any(c.isspace() for c in value):
            raise ValueError(f"doit être une adresse web sans espace, {example}")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            raise ValueError(f"adresse web invalide, {example}") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"doit commencer par https:// (ou http://), {example}")
        if not parts.hostname:
            raise ValueError(f"nom de serveur absent, {example}")
        if parts.username is not None or parts.password is not None:
            raise _UnechoedValueError("ne doit contenir ni identifiant ni mot de passe")
        if parts.query or parts.fragment or value.endswith(("?", "#")):
            raise ValueError(f"ne doit contenir ni « ? » ni « # », {example}")
        if port == 0:
            raise ValueError("numéro de port invalide")
        return value.rstrip("/")

    @field_validator("password")
    @classmethod
    def _empty_password_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        return value


class StorageSettings(BaseModel):
    """The ``[storage]`` section: where the bot keeps its state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(default=Path("data"), validate_default=True)

    @field_validator("data_dir", mode="before")
    @classmethod
    def _reject_empty(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("ne doit pas être vide (par exemple « ./data »)")
        return value

    @field_validator("data_dir")
    @classmethod
    def _resolve(cls, value: Path, info: ValidationInfo) -> Path:
        """Expand ``~`` and resolve a relative path against ``context["base_dir"]``."""
        try:
            value = value.expanduser()
        except RuntimeError:
            raise ValueError("impossible de déterminer le dossier personnel (« ~ »)") from None
        context = info.context
        base_dir = context.get("base_dir") if isinstance(context, Mapping) else None
        if not value.is_absolute() and isinstance(base_dir, Path):
            value = base_dir / value
        return Path(os.path.normpath(value)) if value.is_absolute() else value


class BotSettings(BaseModel):
    """The ``[bot]`` section: who administers the bot, and how it behaves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    admins: tuple[UserId, ...] = Field(min_length=1)
    timezone: str = "Europe/Paris"
    max_sends_per_second: float = Field(default=1.0, strict=True, gt=0, le=100, allow_inf_nan=False)

    broadcast_rooms: tuple[RoomRef, ...] = ()
    workshop_reminders: Literal["salon", "prive"] = "salon"
    workshop_signup_notices: Literal["discret", "salon"] = "discret"

    @field_validator("workshop_reminders", "workshop_signup_notices", mode="before")
    @classmethod
    def _accents_ignored(cls, value: object) -> object:
        """« privé » and « Prive » mean "prive", as commands ignore case and accents."""
        if not isinstance(value, str):
            return value
        decomposed = unicodedata.normalize("NFKD", value.strip())
        return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()

    curation_room: RoomRef | None = None
    feed_poll_minutes: float = Field(default=30.0, strict=True, ge=0.05, le=1440)
    needs_poll_themes: tuple[str, ...] = ()

    @field_validator("needs_poll_themes")
    @classmethod
    def _check_themes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        themes = tuple(" ".join(t.split()) for t in value)
        if not themes:
            return themes
        if not 2 <= len(themes) <= 20:
            raise ValueError(
                f"il faut entre 2 et 20 thèmes pour le sondage des besoins (ici {len(themes)})"
            )
        if any(not t or "|" in t for t in themes):
            raise ValueError("chaque thème doit être un texte non vide, sans barre « | »")
        if len({t.casefold() for t in themes}) != len(themes):
            raise ValueError("un thème figure deux fois dans needs_poll_themes")
        return themes

    @field_validator("admins")
    @classmethod
    def _deduplicate(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                "fuseau horaire inconnu : utilisez un nom de la base IANA, "
                "par exemple « Europe/Paris », « America/Cayenne » ou « Indian/Reunion »"
            ) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)


class FeedSettings(BaseModel):
    """One ``[[feeds]]`` entry: a news source watched by the bot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    url: Annotated[str, AfterValidator(_check_feed_url)]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    auto_publish: bool = False


FRENCH_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
"""Index = `date.weekday()`."""

_LETTER_TIME_RE = re.compile(r"(?P<h>[01]?\d|2[0-3])\s*(?:h\s*(?P<m1>[0-5]\d)?|:(?P<m2>[0-5]\d))")


def parse_letter_time(value: str) -> time:
    """« 16h30 », « 16h », « 16:30 » → 16:30 (a local minute)."""
    match = _LETTER_TIME_RE.fullmatch(value.strip().lower())
    if match is None:
        raise ValueError("doit être une heure comme « 16h30 », « 16h » ou « 16:30 »")
    return time(int(match["h"]), int(match["m1"] or match["m2"] or 0))


LocalTime = time
"""`time` is also a field name of DigestSettings."""


class DigestSettings(BaseModel):
    """The ``[digest]`` section: the weekly letter in the staff rooms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    day: Literal["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"] = (
        "vendredi"
    )
    time: Annotated[str, AfterValidator(lambda v: (parse_letter_time(v), v)[1])] = "16h30"
    zone: Literal["A", "B", "C"] | None = None
    rooms: tuple[RoomRef, ...] = ()
    permalink_base: str = "https://matrix.to/#/"

    @field_validator("day", mode="before")
    @classmethod
    def _day_accents_ignored(cls, value: object) -> object:
        return value.strip().casefold() if isinstance(value, str) else value

    @field_validator("zone", mode="before")
    @classmethod
    def _zone_upper(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper().removeprefix("ZONE ").strip()
            return value or None
        return value

    @field_validator("permalink_base")
    @classmethod
    def _check_permalink_base(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "doit être une adresse web, par exemple « https://matrix.to/#/ » ou "
                "« https://www.tchap.gouv.fr/#/room/ »"
            )
        return value

    @property
    def weekday(self) -> int:
        """0 = Monday."""
        return FRENCH_WEEKDAYS.index(self.day)

    @property
    def local_time(self) -> LocalTime:
        return parse_letter_time(self.time)


SMTP_PASSWORD_ENV_VAR = "RUPN_SMTP_PASSWORD"  # noqa: S105 (a variable name, not a secret)
"""Environment variable that supplies the SMTP password of ``[email]``."""

_MAIL_RE = re.compile(r"[^@\s<>\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def _check_mail_address(value: str) -> str:
    if _MAIL_RE.fullmatch(value.strip()) is None:
        raise ValueError("doit être une adresse électronique, par exemple « rupn@ac-exemple.fr »")
    return value.strip()


MailAddress = Annotated[str, AfterValidator(_check_mail_address)]


class EmailSettings(BaseModel):
    """The ``[email]`` section: the weekly letter also goes out by e-mail."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None  # from RUPN_SMTP_PASSWORD only (see parse_config)
    sender: MailAddress = Field(alias="from")
    to: tuple[MailAddress, ...] = Field(min_length=1)

    @property
    def implicit_tls(self) -> bool:
        """Port 465 speaks TLS from the first byte (SMTPS); 587 and 25 use STARTTLS."""
        return self.smtp_port == 465

    def password_value(self) -> str | None:
        return None if self.password is None else self.password.get_secret_value()


_MONTH_DAY_RE = re.compile(r"(?P<m>\d{2})-(?P<d>\d{2})")


MIN_RETENTION_MONTHS = 12


class PrivacySettings(BaseModel):
    """The ``[privacy]`` section: how long personal data is kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    retention_months: int = Field(default=13, le=120)

    @field_validator("retention_months")
    @classmethod
    def _a_school_year_at_least(cls, value: int) -> int:
        # Shorter, read markers would go mid-year and the year's readers be counted again.
        if value < MIN_RETENTION_MONTHS:
            raise ValueError(
                f"doit valoir au moins {MIN_RETENTION_MONTHS} mois (une année scolaire entière, "
                f"pour que le bilan de l’année reste juste) ; vous avez écrit {value}"
            )
        return value


class BilanSettings(BaseModel):
    """The ``[bilan]`` section: the school year the bilan covers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year_start: str = "09-01"  # MM-DD: 1 September

    @field_validator("year_start")
    @classmethod
    def _check_year_start(cls, value: str) -> str:
        match = _MONTH_DAY_RE.fullmatch(value.strip())
        try:
            if match is None:
                raise ValueError
            date(2001, int(match["m"]), int(match["d"]))  # not a leap year: no 29 February
        except ValueError:
            raise ValueError(
                "doit être un jour de l’année au format MM-JJ, par exemple « 09-01 » pour le "
                "1er septembre"
            ) from None
        return value.strip()

    @property
    def start_month_day(self) -> tuple[int, int]:
        month, day = self.year_start.split("-")
        return int(month), int(day)


class Config(BaseModel):
    """The whole configuration file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    matrix: MatrixSettings
    storage: StorageSettings = Field(default_factory=StorageSettings)
    bot: BotSettings
    feeds: tuple[FeedSettings, ...] = ()
    # Without a [digest] section no letter is sent on schedule; `!lettre` still works.
    digest: DigestSettings = Field(default_factory=lambda: DigestSettings(enabled=False))
    email: EmailSettings | None = None
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    bilan: BilanSettings = Field(default_factory=BilanSettings)

    @property
    def tz(self) -> ZoneInfo:
        """Shortcut for ``bot.tz``."""
        return self.bot.tz

    def password_value(self) -> str | None:
        """The password in clear, or None when none is configured."""
        password = self.matrix.password
        return None if password is None else password.get_secret_value()

    def warnings(self) -> list[str]:
        """What is allowed but risky, in French (check-config prints it, run logs it)."""
        found = []
        parts = urlsplit(self.matrix.homeserver)
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            found.append(
                f"le serveur Matrix {self.matrix.homeserver} est joint en http:// : le mot de "
                "passe et les messages circulent sans protection. Utilisez https://."
            )
        if self.digest.enabled and self.digest.zone is None:
            found.append(
                "digest.zone n’est pas renseignée : la lettre partira aussi pendant les "
                "vacances scolaires. Indiquez la zone de l’académie (« A », « B » ou « C »)."
            )
        if self.email is not None and self.email.username and self.email.password is None:
            found.append(
                f"email.username est renseigné mais la variable {SMTP_PASSWORD_ENV_VAR} est "
                "vide : le serveur de courriel refusera sans doute la connexion."
            )
        return found


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


# --------------------------------------------------------------------------- loading


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the TOML file at `path`.

    `environ` defaults to `os.environ`; ``RUPN_BOT_PASSWORD`` in it supplies or
    overrides ``matrix.password``. A relative ``storage.data_dir`` is resolved
    against the directory of the file. Raises `ConfigError`.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"Fichier de configuration introuvable : {path}") from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path} est un dossier : indiquez le chemin du fichier de configuration"
        ) from None
    except PermissionError:
        raise ConfigError(
            f"Fichier de configuration illisible (permission refusée) : {path}"
        ) from None
    except OSError:
        raise ConfigError(f"Fichier de configuration illisible : {path}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}, ligne {line} : le fichier n’est pas encodé en UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_translate_toml_error(path, str(exc))) from None
    config = parse_config(
        data,
        base_dir=path.absolute().parent,
        environ=os.environ if environ is None else environ,
    )
    _refuse_readable_password(path, data)
    return config


def _refuse_readable_password(path: Path, data: Mapping[str, Any]) -> None:
    """A password written in a file that other accounts can read is an error, as ssh does."""
    matrix = data.get("matrix")
    if not isinstance(matrix, Mapping) or not matrix.get("password"):
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        raise ConfigError(
            f"{path} contient le mot de passe du bot et d’autres comptes de la machine peuvent "
            f"le lire : tapez « chmod 600 {path} » (ou retirez le mot de passe du fichier et "
            f"donnez-le par la variable {PASSWORD_ENV_VAR})."
        )


def parse_config(data: Mapping[str, Any], *, base_dir: Path, environ: Mapping[str, str]) -> Config:
    """Validate an already parsed configuration; see `load_config`."""
    prepared: dict[str, Any] = dict(data)
    # Present so that data_dir's default goes through validation (and base_dir).
    prepared.setdefault("storage", {})
    env_password = environ.get(PASSWORD_ENV_VAR)
    matrix = prepared.get("matrix")
    if env_password and isinstance(matrix, Mapping):
        prepared["matrix"] = {**matrix, "password": env_password}
    email = prepared.get("email")
    if isinstance(email, Mapping):
        if "password" in email:
            raise ConfigError(
                f"email.password : n’écrivez pas le mot de passe du courriel dans le fichier ; "
                f"donnez-le par la variable d’environnement {SMTP_PASSWORD_ENV_VAR}."
            )
        smtp_password = environ.get(SMTP_PASSWORD_ENV_VAR)
        if smtp_password:
            prepared["email"] = {**email, "password": smtp_password}
    try:
        return Config.model_validate(prepared, context={"base_dir": base_dir})
    except ValidationError as exc:
        # `from None`: pydantic's own text echoes input values, the password included.
        raise ConfigError(_translate_validation_error(exc)) from None


# --------------------------------------------------------------------------- TOML errors

_TOML_POSITION_RE = re.compile(
    r"^(?P<msg>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$",
    re.DOTALL,
)

_TOML_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"Invalid statement", "instruction invalide"),
        (
            r"Expected newline or end of document after a statement",
            "fin de ligne attendue après la valeur",
        ),
        (
            r"Expected '=' after a key in a key/value pair",
            "« = » attendu après le nom de la clé",
        ),
        (
            r"Expected '\]' at the end of a table declaration",
            "« ] » attendu à la fin de l’en-tête de section",
        ),
        (
            r"Expected '\]\]' at the end of an array declaration",
            "« ]] » attendu à la fin de l’en-tête de tableau",
        ),
        (r"Expected (?P<x>.+)", "{x} attendu"),
        (r"Found invalid character (?P<x>.+)", "caractère inattendu {x}"),
        (r"Cannot declare (?P<x>.+) twice", "section {x} déclarée deux fois"),
        (r"Cannot overwrite a value", "clé définie deux fois"),
        (
            r"Cannot mutate immutable namespace (?P<x>.+)",
            "impossible de modifier la table {x}, déjà définie",
        ),
        (r"Cannot redefine namespace (?P<x>.+)", "impossible de redéfinir la table {x}"),
        (
            r"Invalid initial character for a key part",
            "caractère invalide au début d’un nom de clé",
        ),
        (r"Unclosed array", "liste non fermée (« ] » manquant)"),
        (r"Duplicate inline table key (?P<x>.+)", "clé {x} en double dans la table"),
        (r"Unclosed inline table", "table non fermée (« } » manquant)"),
        (
            r"Unescaped '\\' in a string",
            "barre oblique inversée « \\ » non échappée dans une chaîne "
            "(écrivez « \\\\ » ou mettez la chaîne entre apostrophes droites)",
        ),
        (r"Invalid hex value", "séquence d’échappement hexadécimale invalide"),
        (
            r"Escaped character is not a Unicode scalar value",
            "séquence d’échappement hors de l’Unicode",
        ),
        (r"Unterminated string", "chaîne non terminée (guillemet fermant manquant)"),
        (
            r"Illegal character '\\n'",
            "chaîne non terminée (guillemet fermant manquant en fin de ligne)",
        ),
        (r"Illegal character (?P<x>.+)", "caractère interdit {x} dans une chaîne"),
        (r"Invalid date or datetime", "date ou heure invalide"),
        (
            r"Invalid value",
            "valeur invalide (le texte doit être entre guillemets, "
            'par exemple « timezone = "Europe/Paris" »)',
        ),
    )
)


def _translate_toml_error(path: Path, message: str) -> str:
    match = _TOML_POSITION_RE.match(message)
    english = match["msg"] if match else message
    if match is None:
        where = f"{path}"
    elif match["line"] is None:
        where = f"{path}, fin du fichier"
    else:
        where = f"{path}, ligne {match['line']}, colonne {match['column']}"
    french = "syntaxe invalide"
    for pattern, template in _TOML_MESSAGES:
        found = pattern.fullmatch(english)
        if found is not None:
            french = template.format(**{k: _toml_fragment(v) for k, v in found.groupdict().items()})
            break
    return f"{where} : TOML invalide : {french}"


def _toml_fragment(value: str) -> str:
    """Render a fragment of tomllib's message (a repr, or a tuple of key parts)."""
    if value.startswith("(") and value.endswith(")"):
        parts = re.findall(r"'((?:[^'\\]|\\.)*)'", value)
        if parts:
            return "« " + ".".join(parts) + " »"
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return f"« {value} »"


# --------------------------------------------------------------------------- validation errors


def _translate_validation_error(exc: ValidationError) -> list[str]:
    errors = exc.errors(include_url=False)
    # A list whose items failed also fails its length check: report the items only.
    item_locs = {err["loc"][:-1] for err in errors if err["loc"]}
    lines: list[str] = []
    for err in errors:
        if err["type"] in ("too_short", "too_long") and err["loc"] in item_locs:
            continue
        line = f"{_format_loc(err['loc'])} : {_french_message(err)}"
        if line not in lines:
            lines.append(line)
    return lines


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE_KEY_RE.fullmatch(part) else f'"{part}"'
            text += f".{key}" if text else key
    return text or "(racine)"


def _french_message(err: ErrorDetails) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    loc = err["loc"]

    if kind == "missing":
        return "clé obligatoire absente"
    if kind == "extra_forbidden":
        # Never echo the value: it may be a misspelt password.
        return "clé inconnue" + _suggest_key(loc)
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        message = str(error) if error is not None else err["msg"]
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    else:
        message = _TYPE_MESSAGES.get(kind, "valeur invalide")
        if kind in _CONTEXT_MESSAGES:
            message = _CONTEXT_MESSAGES[kind](ctx)
    echo = not isinstance(ctx.get("error"), _UnechoedValueError)
    if echo and kind not in _NO_INPUT_ECHO and not _is_secret(loc):
        message += f" (reçu : {_describe_input(err.get('input'))})"
    return message


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    return any(isinstance(part, str) and "password" in part.lower() for part in loc)


def _suggest_key(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        field = model.model_fields.get(part) if model and isinstance(part, str) else None
        annotation = field.annotation if field else None
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    if model is None or not loc or not isinstance(loc[-1], str):
        return ""
    known = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
    if close:
        return f" (vouliez-vous dire « {close[0]} » ?)"
    return " (clés possibles : " + ", ".join(known) + ")"


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _describe_input(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value == "":
        return "une chaîne vide"
    if value in ([], ()):
        return "une liste vide"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "…"
        return f"« {shown} »"
    if isinstance(value, datetime | date | time):
        return f"la date {value.isoformat()}"
    if isinstance(value, list | tuple):
        return "une liste"
    if isinstance(value, Mapping):
        return "une table"
    return "une valeur d’un autre type"


def _plural(count: object, singular: str, plural: str) -> str:
    # Both nouns used here are masculine: « un élément », « un caractère ».
    if count == 1:
        return f"un {singular}"
    return f"{count} {singular if count == 0 else plural}"


_NO_INPUT_ECHO = frozenset({"missing", "extra_forbidden", "model_type", "dict_type"})

_TYPE_MESSAGES: dict[str, str] = {
    "string_type": "doit être du texte entre guillemets",
    "string_too_short": "ne doit pas être vide",
    "float_type": "doit être un nombre",
    "float_parsing": "doit être un nombre",
    "finite_number": "doit être un nombre fini",
    "int_type": "doit être un nombre entier",
    "int_parsing": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "bool_type": "doit valoir true ou false",
    "bool_parsing": "doit valoir true ou false",
    "list_type": 'doit être une liste, par exemple ["@rupn:example.org"]',
    "tuple_type": 'doit être une liste, par exemple ["@rupn:example.org"]',
    "model_type": "doit être une section (table TOML)",
    "model_attributes_type": "doit être une section (table TOML)",
    "dict_type": "doit être une section (table TOML)",
    "path_type": "doit être un chemin de dossier entre guillemets",
    "url_type": "doit être une adresse web entre guillemets",
    "url_parsing": "adresse web invalide",
    "url_syntax_violation": "adresse web invalide",
    "url_scheme": "doit commencer par https:// (ou http://)",
    "url_too_long": "adresse web trop longue",
}


def _french_choices(expected: str) -> str:
    """Pydantic's "'salon' or 'prive'" → « salon » ou « prive »."""
    return re.sub(r"'([^']*)'", r"« \1 »", expected).replace(" or ", " ou ")


_CONTEXT_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "literal_error": lambda ctx: (
        "valeur attendue : " + _french_choices(str(ctx.get("expected", "")))
    ),
    "greater_than": lambda c: (
        "doit être un nombre strictement positif"
        if c.get("gt") == 0
        else f"doit être strictement supérieur à {_number(c.get('gt'))}"
    ),
    "greater_than_equal": lambda c: f"doit être supérieur ou égal à {_number(c.get('ge'))}",
    "less_than": lambda c: f"doit être strictement inférieur à {_number(c.get('lt'))}",
    "less_than_equal": lambda c: f"doit être inférieur ou égal à {_number(c.get('le'))}",
    "too_short": lambda c: (
        "doit contenir au moins " + _plural(c.get("min_length"), "élément", "éléments")
    ),
    "too_long": lambda c: (
        "doit contenir au plus " + _plural(c.get("max_length"), "élément", "éléments")
    ),
    "string_too_short": lambda c: (
        "ne doit pas être vide"
        if c.get("min_length") == 1
        else "doit contenir au moins " + _plural(c.get("min_length"), "caractère", "caractères")
    ),
    "string_too_long": lambda c: (
        "doit contenir au plus " + _plural(c.get("max_length"), "caractère", "caractères")
    ),
}
