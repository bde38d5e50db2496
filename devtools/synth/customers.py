"""Who the customers are (name, contact data, consent, place) and how their master record is exported.

Identity is independent of behaviour except for the time zone, which the population model needs to place
activity at the customer's local hours. Records change now and then (consent change, moved city, new phone
or e-mail, and consent withdrawn after a complaint); each change re-exports the full record with a later
``updated_at``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from devtools.synth.arrays import assemble, compact
from devtools.synth.clock import DAY, HOUR, Clock, bools, iso_dates, iso_utc
from devtools.synth.population import BUILD_CHUNK, NEVER, Population
from devtools.synth.vocab import COUNTRIES, FAR_ZONE, FAR_ZONE_SHARE, FIRST_NAMES, LAST_NAMES

ZONES: tuple[str, ...] = tuple(dict.fromkeys([c.zone for c in COUNTRIES] + [FAR_ZONE]))
CITIES = [c.words("cities") for c in COUNTRIES]
DOMAINS = [c.words("email_domains") for c in COUNTRIES]
PREFIXES = [c.words("phone_prefixes") for c in COUNTRIES]
N_CITIES = np.array([len(c) for c in CITIES])
UPDATE_PROB_ACTIVE = 1 / 300  # about one change a year per active customer
UPDATE_PROB_CHURNED = 1 / 1500
UPDATE_KINDS = ("consent_email", "consent_sms", "moved", "new_phone", "new_email")
UPDATE_SHARE = (0.30, 0.15, 0.25, 0.20, 0.10)
_TRANSLIT = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ı": "i", "ł": "l", "Ł": "L"}
)


def _ascii(name: str) -> str:
    flat = unicodedata.normalize("NFKD", name.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in flat.lower() if ch.isalnum())


FIRST_ASCII = [_ascii(n) for n in FIRST_NAMES]
LAST_ASCII = [_ascii(n) for n in LAST_NAMES]


@dataclass
class Identity:
    country: np.ndarray  # index into COUNTRIES
    zone: np.ndarray  # index into ZONES
    first: np.ndarray
    last: np.ndarray
    birth_day: np.ndarray  # epoch days
    city: np.ndarray  # index into the country's cities
    email_domain: np.ndarray
    email_number: np.ndarray
    phone_prefix: np.ndarray
    phone_digits: np.ndarray
    has_email: np.ndarray
    has_phone: np.ndarray
    consent_email: np.ndarray
    consent_sms: np.ndarray
    # which optional fields the retailer's export leaves empty (not known there, not a defect)
    export_names: np.ndarray
    export_birth: np.ndarray
    export_city: np.ndarray
    export_country: np.ndarray
    export_zone: np.ndarray
    withdraw_day: np.ndarray  # day index of a scheduled e-mail consent withdrawal, NEVER if none


COMPACT_DTYPES = {
    "country": np.int8,
    "zone": np.int8,
    "first": np.int16,
    "last": np.int16,
    "birth_day": np.int32,
    "city": np.int16,
    "email_domain": np.int8,
    "email_number": np.int16,
    "phone_prefix": np.int8,
    "phone_digits": np.int32,
    "withdraw_day": np.int32,
}


def build_identity(n: int, start_epoch_day: int, rng: np.random.Generator) -> Identity:
    parts = (_identity_chunk(min(BUILD_CHUNK, n - lo), start_epoch_day, rng) for lo in range(0, n, BUILD_CHUNK))
    return assemble(Identity, n, parts)


def _identity_chunk(n: int, start_epoch_day: int, rng: np.random.Generator) -> Identity:
    weights = np.array([c.weight for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum())
    zone = np.array([ZONES.index(c.zone) for c in COUNTRIES])[country]
    zone = np.where(rng.random(n) < FAR_ZONE_SHARE, ZONES.index(FAR_ZONE), zone)
    n_cities = N_CITIES[country]
    n_domains = np.array([len(d) for d in DOMAINS])[country]
    n_prefixes = np.array([len(p) for p in PREFIXES])[country]
    has_email = rng.random(n) < 0.90
    has_phone = rng.random(n) < 0.60
    age_years = np.clip(rng.normal(42, 14, size=n), 18, 85)
    ident = Identity(
        country=country,
        zone=zone,
        first=rng.integers(0, len(FIRST_NAMES), size=n),
        last=rng.integers(0, len(LAST_NAMES), size=n),
        birth_day=start_epoch_day - (age_years * 365.25).astype(np.int64),
        city=_uniform_index(n_cities, rng),
        email_domain=_uniform_index(n_domains, rng),
        email_number=rng.integers(1, 9999, size=n),
        phone_prefix=_uniform_index(n_prefixes, rng),
        phone_digits=rng.integers(0, 10**9, size=n),
        has_email=has_email,
        has_phone=has_phone,
        # ~79% / ~43% of all customers at first; changes and withdrawals after complaints bring it to ~70% / ~40%
        consent_email=has_email & (rng.random(n) < 0.88),
        consent_sms=has_phone & (rng.random(n) < 0.72),
        export_names=rng.random(n) < 0.97,
        export_birth=rng.random(n) < 0.75,
        export_city=rng.random(n) < 0.95,
        export_country=rng.random(n) < 0.98,
        export_zone=rng.random(n) < 0.90,
        withdraw_day=np.full(n, NEVER, dtype=np.int64),
    )
    compact(ident, COMPACT_DTYPES)
    return ident


def _uniform_index(sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.floor(rng.random(len(sizes)) * sizes).astype(np.int64)


def customer_ids(idx: np.ndarray) -> list[str]:
    return [f"C{i + 1:07d}" for i in idx.tolist()]


def _emails(ident: Identity, idx: np.ndarray) -> list[str]:
    out = []
    for i in idx.tolist():
        if not ident.has_email[i]:
            out.append("")
            continue
        domain = DOMAINS[ident.country[i]][ident.email_domain[i]]
        out.append(f"{FIRST_ASCII[ident.first[i]]}.{LAST_ASCII[ident.last[i]]}{ident.email_number[i]}@{domain}")
    return out


def _phones(ident: Identity, idx: np.ndarray) -> list[str]:
    out = []
    for i in idx.tolist():
        if not ident.has_phone[i]:
            out.append("")
            continue
        country = ident.country[i]
        prefixes, digits = PREFIXES[country], COUNTRIES[country].phone_digits
        out.append(f"{prefixes[ident.phone_prefix[i]]}{ident.phone_digits[i] % 10**digits:0{digits}d}")
    return out


def _optional(values: list[str], exported: np.ndarray) -> list[str]:
    return [v if e else "" for v, e in zip(values, exported.tolist(), strict=True)]


def customer_rows(
    ident: Identity, pop: Population, idx: np.ndarray, updated_epoch: np.ndarray
) -> list[tuple[str, ...]]:
    """Full records in contract column order (customer_id, signup_at, consent_email, consent_sms, updated_at,
    email, phone, first_name, last_name, birth_date, city, country, time_zone)."""
    country = ident.country[idx].tolist()
    columns = [
        customer_ids(idx),
        iso_utc(pop.signup_epoch[idx]),
        bools(ident.consent_email[idx]),
        bools(ident.consent_sms[idx]),
        iso_utc(updated_epoch),
        _emails(ident, idx),
        _phones(ident, idx),
        _optional([FIRST_NAMES[f] for f in ident.first[idx].tolist()], ident.export_names[idx]),
        _optional([LAST_NAMES[f] for f in ident.last[idx].tolist()], ident.export_names[idx]),
        _optional(iso_dates(ident.birth_day[idx]), ident.export_birth[idx]),
        _optional(
            [CITIES[c][k] for c, k in zip(country, ident.city[idx].tolist(), strict=True)], ident.export_city[idx]
        ),
        _optional([COUNTRIES[c].code for c in country], ident.export_country[idx]),
        _optional([ZONES[z] for z in ident.zone[idx].tolist()], ident.export_zone[idx]),
    ]
    return list(zip(*columns, strict=True))


def initial_updated_epoch(pop: Population, idx: np.ndarray, clock: Clock, rng: np.random.Generator) -> np.ndarray:
    """Version time of the first export: signup time for new customers, some earlier change for old ones."""
    signup = pop.signup_epoch[idx]
    window_start = clock.epoch(0)
    earlier = signup + (rng.random(len(idx)) * np.maximum(window_start - signup, 0)).astype(np.int64)
    return np.where(signup < window_start, np.minimum(earlier, window_start - 1), signup)


def draw_updates(ident: Identity, pop: Population, d: int, rng: np.random.Generator) -> np.ndarray:
    """Apply today's record changes and return the changed customers (sorted)."""
    before_today = pop.signup_day < d
    prob = np.where(pop.churn_day > d, UPDATE_PROB_ACTIVE, UPDATE_PROB_CHURNED)
    changed = np.flatnonzero(before_today & (rng.random(pop.n) < prob))
    kind = rng.choice(len(UPDATE_KINDS), size=len(changed), p=UPDATE_SHARE)
    _apply_changes(ident, changed, kind, rng)
    withdrawn = np.flatnonzero((ident.withdraw_day == d) & before_today)
    ident.consent_email[withdrawn] = False
    ident.withdraw_day[withdrawn] = NEVER
    return np.union1d(changed, withdrawn)


def _apply_changes(ident: Identity, changed: np.ndarray, kind: np.ndarray, rng: np.random.Generator) -> None:
    def of(name: str) -> np.ndarray:
        return changed[kind == UPDATE_KINDS.index(name)]

    email = of("consent_email")
    ident.consent_email[email] = ~ident.consent_email[email] & ident.has_email[email]
    sms = of("consent_sms")
    ident.consent_sms[sms] = ~ident.consent_sms[sms] & ident.has_phone[sms]
    moved = of("moved")
    n_cities = N_CITIES[ident.country[moved]]
    ident.city[moved] = (ident.city[moved] + 1 + _uniform_index(np.maximum(n_cities - 1, 1), rng)) % n_cities
    ident.export_city[moved] = True
    phone = of("new_phone")
    ident.has_phone[phone] = True
    ident.phone_digits[phone] = rng.integers(0, 10**9, size=len(phone))
    new_email = of("new_email")
    ident.has_email[new_email] = True
    ident.email_number[new_email] = rng.integers(1, 9999, size=len(new_email))


def update_epoch(pop: Population, idx: np.ndarray, d: int, clock: Clock, rng: np.random.Generator) -> np.ndarray:
    """Changes are made around the customer's usual hour (self-service) and land on day d."""
    local = pop.pref_hour[idx] * HOUR + rng.integers(-2 * HOUR, 2 * HOUR, size=len(idx))
    return clock.epoch(d) + clock.local_to_utc_seconds(d, pop.zone[idx], local % DAY)
