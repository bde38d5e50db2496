"""Product categories: what each sells, at what price, how long a pack lasts or how often a durable is serviced.

Consumables (coffee, pet food, water filters, ...) carry a use cycle for their base pack; bigger packs last
proportionally longer. Durables (coffee machines, vacuum cleaners, bikes, printers) carry a service interval
and are bought rarely (small ``buy_weight``) though browsed often (``browse_weight``). Word lists are
``|``-separated strings to keep the table compact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Category:
    name: str
    consumable: bool
    price_eur: tuple[float, float]  # price range of the base pack
    interval_days: tuple[int, int]  # use cycle of the base pack (consumables) or service interval (durables)
    buy_weight: float  # how often an unplanned purchase lands in this category
    browse_weight: float  # how often a browsing session looks at it
    brands: str
    variants: str
    packs: tuple[tuple[str, float], ...]  # (label, size factor): the cycle and roughly the price scale with it
    search_terms: str

    def words(self, field: str) -> tuple[str, ...]:
        return tuple(getattr(self, field).split("|"))


MODEL_LINES = (("Basic", 0.7), ("Pro", 1.0), ("Max", 1.6))  # durables: the price scales with the model line

CATEGORIES: tuple[Category, ...] = (
    Category(
        "coffee",
        consumable=True,
        price_eur=(5, 16),
        interval_days=(14, 28),
        buy_weight=0.17,
        browse_weight=0.12,
        brands="Bergröst|Kaffeewerk|Nordbohne|Alpenaroma",
        variants="Espresso Crema|Lungo Classico|Entkoffeiniert|Bio Hochland|Caffè Forte|Filterkaffee",
        packs=(("250 g", 0.5), ("500 g", 1.0), ("1 kg", 2.0)),
        search_terms="kaffee|espresso|kaffeebohnen|coffee beans|crema|bio kaffee",
    ),
    Category(
        "tea",
        consumable=True,
        price_eur=(3, 9),
        interval_days=(20, 40),
        buy_weight=0.07,
        browse_weight=0.05,
        brands="Teehaus|Grüner Zweig|Ostfriesen",
        variants="Earl Grey|Grüntee Sencha|Kräutergarten|Pfefferminze|Rooibos Vanille",
        packs=(("20 Beutel", 0.5), ("50 Beutel", 1.0), ("250 g lose", 1.5)),
        search_terms="tee|grüner tee|kräutertee|earl grey|pfefferminztee",
    ),
    Category(
        "pet_food",
        consumable=True,
        price_eur=(9, 30),
        interval_days=(20, 35),
        buy_weight=0.14,
        browse_weight=0.08,
        brands="Pfotenglück|Happy Tail|Wildkatz",
        variants="Hund Adult Huhn|Katze Sensitive Lachs|Hund Senior Lamm|Katze Kitten|Hund Getreidefrei",
        packs=(("2 kg", 0.5), ("5 kg", 1.0), ("12 kg", 2.2)),
        search_terms="hundefutter|katzenfutter|trockenfutter|dog food|cat food",
    ),
    Category(
        "water_filters",
        consumable=True,
        price_eur=(7, 15),
        interval_days=(28, 32),
        buy_weight=0.06,
        browse_weight=0.05,
        brands="AquaPur|Klarfluss|Brunnenquell",
        variants="Kartusche Maxx|Kartusche Classic|Wasserfilter Kühlschrank|Duschfilter",
        packs=(("1er Pack", 1.0), ("3er Pack", 3.0)),
        search_terms="wasserfilter|filterkartusche|water filter|kartusche",
    ),
    Category(
        "vitamins",
        consumable=True,
        price_eur=(6, 20),
        interval_days=(30, 60),
        buy_weight=0.08,
        browse_weight=0.06,
        brands="VitaPlus|Sonnenkraft|NaturaMed",
        variants="Vitamin D3, 2000 IE|Magnesium 400|Omega-3|Multivitamin|Zink + C",
        packs=(("60 Kapseln", 1.0), ("120 Kapseln", 2.0)),
        search_terms="vitamin d|magnesium|omega 3|vitamine|multivitamin",
    ),
    Category(
        "printer_ink",
        consumable=True,
        price_eur=(15, 45),
        interval_days=(45, 60),
        buy_weight=0.06,
        browse_weight=0.05,
        brands="InkJoy|DruckFix|ColorPro",
        variants="Patrone Schwarz|Patrone Farbe|Multipack 4 Farben|Toner Schwarz",
        packs=(("Standard", 1.0), ("XL", 2.0)),
        search_terms="druckerpatrone|tinte|toner|printer ink|patrone xl",
    ),
    Category(
        "cleaning",
        consumable=True,
        price_eur=(3, 12),
        interval_days=(21, 40),
        buy_weight=0.1,
        browse_weight=0.06,
        brands="Glanzwerk|EcoClean|Frischluft",
        variants="Allzweckreiniger|Spülmittel|Waschmittel Color|Entkalker|Badreiniger",
        packs=(("1 l", 1.0), ("3 l", 2.5)),
        search_terms="reiniger|waschmittel|entkalker|spülmittel|putzmittel",
    ),
    Category(
        "diapers",
        consumable=True,
        price_eur=(9, 20),
        interval_days=(7, 12),
        buy_weight=0.06,
        browse_weight=0.04,
        brands="Bärchen|SoftBaby",
        variants="Windeln Größe 3|Windeln Größe 4|Windeln Größe 5|Pants Größe 5",
        packs=(("44 Stück", 1.0), ("88 Stück", 2.0)),
        search_terms="windeln|pampers|baby windeln|pants",
    ),
    Category(
        "coffee_machines",
        consumable=False,
        price_eur=(149, 1299),
        interval_days=(90, 180),
        buy_weight=0.012,
        browse_weight=0.12,
        brands="Bergröst|Baristo|Crema Casa",
        variants="Vollautomat|Siebträger|Kapselmaschine|Filtermaschine",
        packs=MODEL_LINES,
        search_terms="kaffeevollautomat|kaffeemaschine|siebträger|espresso machine",
    ),
    Category(
        "vacuum_cleaners",
        consumable=False,
        price_eur=(99, 699),
        interval_days=(180, 365),
        buy_weight=0.012,
        browse_weight=0.12,
        brands="Saugwerk|Staubfrei|RoboClean",
        variants="Akku-Staubsauger|Saugroboter|Bodenstaubsauger|Handstaubsauger",
        packs=MODEL_LINES,
        search_terms="staubsauger|saugroboter|akkusauger|vacuum cleaner",
    ),
    Category(
        "bikes",
        consumable=False,
        price_eur=(399, 2999),
        interval_days=(180, 365),
        buy_weight=0.008,
        browse_weight=0.1,
        brands="Radwerk|Velocity|Stadtflitzer",
        variants="E-Bike Trekking|Citybike 28”|Mountainbike|Kinderrad 20 Zoll|Lastenrad",
        packs=MODEL_LINES,
        search_terms="fahrrad|e-bike|citybike|mountainbike|lastenrad",
    ),
    Category(
        "printers",
        consumable=False,
        price_eur=(79, 499),
        interval_days=(270, 365),
        buy_weight=0.012,
        browse_weight=0.09,
        brands="InkJoy|DruckFix|OfficeLine",
        variants="Tintenstrahldrucker|Laserdrucker|Multifunktionsdrucker",
        packs=MODEL_LINES,
        search_terms="drucker|laserdrucker|multifunktionsdrucker|printer",
    ),
)

CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
CONSUMABLE_CATEGORIES = np.array([i for i, c in enumerate(CATEGORIES) if c.consumable], dtype=np.int64)
