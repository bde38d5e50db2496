"""Word lists for the synthetic retailer: names, places, time zones, review texts and referrers.

Kept apart from the simulation so the behaviour code stays readable. Some values deliberately contain
umlauts, spaces, apostrophes, commas and double quotes: the landing files must survive them (UTF-8, RFC-4180
quoting). No value contains a newline, a backslash or a double quote that would need JSON escaping unless it
only ever goes to a CSV file (review bodies). Lists are ``|``-separated strings to keep them compact.
"""

from __future__ import annotations

from typing import NamedTuple

FIRST_NAMES: tuple[str, ...] = (
    "Anna",
    "Lena",
    "Marie",
    "Sophie",
    "Laura",
    "Julia",
    "Lea",
    "Hannah",
    "Sarah",
    "Lisa",
    "Katharina",
    "Johanna",
    "Emma",
    "Mia",
    "Clara",
    "Jana",
    "Nina",
    "Sabine",
    "Petra",
    "Ursula",
    "Monika",
    "Birgit",
    "Sandra",
    "Claudia",
    "Jürgen",
    "Lukas",
    "Leon",
    "Paul",
    "Jonas",
    "Felix",
    "Maximilian",
    "Tobias",
    "Jan",
    "Niklas",
    "Tim",
    "Florian",
    "Michael",
    "Thomas",
    "Andreas",
    "Stefan",
    "Markus",
    "Christian",
    "Peter",
    "Klaus",
    "Wolfgang",
    "Uwe",
    "Björn",
    "Sören",
    "Daan",
    "Sem",
    "Bram",
    "Fleur",
    "Sanne",
    "Noëlle",
    "Luca",
    "Matteo",
    "Chloé",
    "Zoë",
    "Ayşe",
    "Mehmet",
    "Emre",
    "Aleksandra",
    "Piotr",
    "Olivia",
    "Oliver",
    "Aino",
    "Mikko",
    "José",
    "Renée",
    "Hans-Peter",
    "Anne-Marie",
)

LAST_NAMES: tuple[str, ...] = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "de Vries",
    "van Dijk",
    "Jansen",
    "de Jong",
    "Bakker",
    "Visser",
    "Gruber",
    "Pichler",
    "Steiner",
    "Moser",
    "Yılmaz",
    "Kaya",
    "Nowak",
    "Kowalski",
    "Dubois",
    "Lefèvre",
    "O'Brien",
    "Smith",
    "Virtanen",
    "Korhonen",
    "Meyer-Lüdenscheidt",
    "Groß",
)


class Country(NamedTuple):
    code: str  # ISO 3166-1 alpha-2
    weight: float  # share of customers
    zone: str  # IANA time zone
    phone_prefixes: str  # E.164 mobile prefixes
    phone_digits: int  # digits after the prefix
    cities: str
    email_domains: str

    def words(self, field: str) -> tuple[str, ...]:
        return tuple(getattr(self, field).split("|"))


COUNTRIES: tuple[Country, ...] = (
    Country(
        "DE",
        0.68,
        "Europe/Berlin",
        phone_prefixes="+49151|+49152|+49160|+49170|+49171|+49176|+49179",
        phone_digits=8,
        cities=(
            "Berlin|Hamburg|München|Köln|Frankfurt am Main|Stuttgart|Düsseldorf|Leipzig|Dortmund|"
            "Essen|Bremen|Dresden|Hannover|Nürnberg|Bochum|Wuppertal|Bielefeld|Bonn|Münster|Mannheim|"
            "Karlsruhe|Augsburg|Wiesbaden|Freiburg im Breisgau|Kiel|Rostock|Potsdam|Regensburg|"
            "Heidelberg|Halle (Saale)"
        ),
        email_domains="gmail.com|web.de|gmx.de|t-online.de|outlook.de|icloud.com|posteo.de|yahoo.de",
    ),
    Country(
        "AT",
        0.09,
        "Europe/Vienna",
        phone_prefixes="+43664|+43676|+43699",
        phone_digits=7,
        cities=("Wien|Graz|Linz|Salzburg|Innsbruck|Klagenfurt"),
        email_domains="gmail.com|gmx.at|aon.at|a1.net",
    ),
    Country(
        "NL",
        0.07,
        "Europe/Amsterdam",
        phone_prefixes="+316",
        phone_digits=8,
        cities=("Amsterdam|Rotterdam|Den Haag|Utrecht|Eindhoven|Groningen"),
        email_domains="gmail.com|ziggo.nl|kpn.nl",
    ),
    Country(
        "CH",
        0.05,
        "Europe/Zurich",
        phone_prefixes="+4176|+4178|+4179",
        phone_digits=7,
        cities=("Zürich|Genève|Basel|Bern|Lausanne"),
        email_domains="gmail.com|bluewin.ch|gmx.ch",
    ),
    Country(
        "BE",
        0.03,
        "Europe/Brussels",
        phone_prefixes="+32470|+32475|+32486",
        phone_digits=6,
        cities=("Bruxelles|Antwerpen|Gent|Liège"),
        email_domains="gmail.com|telenet.be|skynet.be",
    ),
    Country(
        "FR",
        0.03,
        "Europe/Paris",
        phone_prefixes="+336|+337",
        phone_digits=8,
        cities=("Paris|Lyon|Strasbourg|Lille"),
        email_domains="gmail.com|orange.fr|free.fr",
    ),
    Country(
        "GB",
        0.02,
        "Europe/London",
        phone_prefixes="+447",
        phone_digits=9,
        cities=("London|Manchester|Bristol"),
        email_domains="gmail.com|outlook.com|btinternet.com",
    ),
    Country(
        "PL",
        0.02,
        "Europe/Warsaw",
        phone_prefixes="+4850|+4860|+4869",
        phone_digits=7,
        cities=("Warszawa|Kraków|Wrocław|Poznań"),
        email_domains="gmail.com|wp.pl|onet.pl",
    ),
    Country(
        "FI",
        0.01,
        "Europe/Helsinki",
        phone_prefixes="+35840|+35850",
        phone_digits=7,
        cities=("Helsinki|Espoo|Tampere"),
        email_domains="gmail.com|elisa.fi",
    ),
)

# A few customers live far from their billing country (expats, travellers): their local evening is UTC night.
FAR_ZONE = "America/New_York"
FAR_ZONE_SHARE = 0.01

STORE_ZONE = "Europe/Berlin"  # the retailer's store time zone (the contract's default for a missing time_zone)

REFERRERS: tuple[tuple[str, float], ...] = (
    ("", 0.40),  # direct visit: no referrer
    ("https://www.google.com/", 0.30),
    ("https://www.bing.com/", 0.03),
    ("https://www.instagram.com/", 0.07),
    ("https://www.facebook.com/", 0.05),
    ("https://newsletter.shop.example/", 0.10),
    ("https://www.idealo.de/", 0.05),
)

# review bodies by situation; "" means a rating without text. These go to CSV only, so quotes are allowed.
REVIEW_BODIES: dict[str, tuple[str, ...]] = {
    "good": (
        "",
        "",
        "Sehr gut, gerne wieder.",
        "Schnelle Lieferung, top Qualität.",
        "Great product, arrived on time.",
        "Wie immer zuverlässig.",
        "Preis-Leistung stimmt.",
        'Genau wie beschrieben, "5 Sterne" verdient.',
        "Alles bestens; schnelle Lieferung, gut verpackt.",
        "Bestelle ich jeden Monat wieder.",
    ),
    "late": (
        "",
        "Lieferung kam viel zu spät.",
        "Arrived a week late, box damaged.",
        "Produkt ok, aber Versand dauerte ewig.",
        "Zu spät geliefert, nächstes Mal woanders.",
    ),
    "cancelled": (
        "",
        "Bestellung wurde ohne Grund storniert.",
        "Order cancelled, nobody told me why.",
        "Storniert, obwohl als lieferbar angezeigt.",
    ),
    "returned": (
        "",
        "Zurückgeschickt, Qualität enttäuschend.",
        "Returned it: not as described.",
        "Passte nicht, Rücksendung war umständlich.",
    ),
}

COMPLAINT_BODIES: dict[str, tuple[str, ...]] = {
    "late": (
        "Beschwerde: Paket seit Tagen überfällig, keine Antwort vom Kundenservice.",
        "Complaint: parcel is late again, please call me back.",
        'Lieferung "express" bezahlt, aber 6 Tage gewartet.',
    ),
    "cancelled": (
        "Beschwerde: Bestellung storniert, Geld noch nicht zurück.",
        "Complaint: order cancelled twice, refund still pending.",
    ),
    "returned": (
        "Beschwerde: Rückerstattung nach Retoure fehlt.",
        "Complaint: defective item, return label never arrived.",
        "Falscher Artikel geliefert, bitte um Rückruf.",
    ),
}
