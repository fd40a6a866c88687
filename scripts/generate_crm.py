#!/usr/bin/env python
"""Synthetic CRM extract generator: the landing files the warehouse is built and tested on.

Writes ``<out>/<entity>/<drop>.csv`` (or ``.parquet``) for every entity of
``docs/extract_contract.yml``, with the contract's column names, deterministically from
``--seed``: the same seed and arguments give byte-identical files.

How it works
------------
* Every contact gets a hidden persona (prospect that was only reached, engaged prospect,
  wanderer, one-time buyer, regular account, promoter, discount hunter, impulsive,
  need-oriented, high-volume, toxic, courteous silent churner, gift buyer, internal buyer,
  purchasing agent, business, lapsed, regained, curious, distrustful, paranoid, aggressive,
  finance-attentive, hurried, premium/technology buyer, cost-oriented, ordinary). The
  persona drives behaviour parameters (purchase rhythm, basket, discounts, tickets, NPS,
  marketing touches, payments). The persona itself is never written: the warehouse must
  infer it from behaviour.
* Purchases are renewal processes per contact: lognormal inter-purchase gaps with the
  coefficient of variation of a gamma of the persona's shape (regular personas: low CV),
  a geometric drop-out after each purchase (repeat-purchase decay), persona-specific
  activity windows (lapsed, silent churn, regained after a long gap), and a seasonal time
  warp that puts peaks in November and December. Spend is lognormal (prices, quantities).
* Everything is vectorised numpy with one seeded generator per stream and chunk (no
  per-row Python loops for the big entities). Orders and everything that follows them
  are generated per chunk of CHUNK_CONTACTS contacts (small arrays, bounded memory); ids
  continue across chunks. DuckDB formats the columns and writes the files on a background
  thread (insertion order preserved, so the output is deterministic). Rows carrying a
  text defect (an unparseable date) are rendered separately and appended to their file.
* Drops: the first drop (named by its date) carries all history up to the end of that day;
  each later daily drop carries the rows created or changed that day. Rows that change
  state across drops (order status, ticket closure, contact updates, product price
  changes, campaign cost) appear once per drop in which they changed.
* Defects, each on a small share of rows: identical rows re-sent in a later drop, contact
  updates in later drops, unparseable dates, dates in 2031, negative amounts, orphan
  references, NPS scores out of range, untidy e-mails and country names instead of codes.
  One later contacts drop is encoded in Windows-1250 (declared in its name) and the first
  products drop carries a UTF-8 BOM.

Usage::

    python scripts/generate_crm.py --contacts 2000 --seed 42 --drops 4 --out data/sample/landing
    python scripts/generate_crm.py --write-seeds seeds   # the label / country mapping seeds
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import queue
import shutil
import sys
import threading
import time
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONTRACT_PATH = PROJECT_DIR / "docs" / "extract_contract.yml"

HISTORY_START = dt.date(2023, 1, 1)
DEFAULT_LAST_DROP = dt.date(2026, 10, 31)
DAY = 86_400
ABSENT = np.iinfo(np.int64).max  # "this event never happened" in event-time matrices
BASE_EPOCH = int(
    (np.datetime64(HISTORY_START.isoformat()) - np.datetime64("1970-01-01", "D"))
    / np.timedelta64(1, "s")
)
LEGACY_ENCODING = "windows-1250"
DEFAULT_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # DuckDB's own rendering of a TIMESTAMP
CHUNK_CONTACTS = 100_000  # contacts per chunk of order-related generation

# --------------------------------------------------------------------------------------
# Reference data: countries, names, places, catalogue, labels
# --------------------------------------------------------------------------------------

# code, English, Italian, Polish, native, macro_region, weight, name group
COUNTRIES = [
    ("IT", "Italy", "Italia", "Włochy", "Italia", "southern_europe", 0.440, "it"),
    ("PL", "Poland", "Polonia", "Polska", "Polska", "central_europe", 0.360, "pl"),
    ("DE", "Germany", "Germania", "Niemcy", "Deutschland", "central_europe", 0.050, "de"),
    ("FR", "France", "Francia", "Francja", "France", "western_europe", 0.030, "fr"),
    ("ES", "Spain", "Spagna", "Hiszpania", "España", "southern_europe", 0.030, "es"),
    ("AT", "Austria", "Austria", "Austria", "Österreich", "central_europe", 0.020, "de"),
    ("NL", "Netherlands", "Paesi Bassi", "Holandia", "Nederland", "western_europe", 0.015, "nl"),
    ("BE", "Belgium", "Belgio", "Belgia", "Belgique", "western_europe", 0.010, "nl"),
    ("CZ", "Czechia", "Repubblica Ceca", "Czechy", "Česko", "central_europe", 0.010, "cz"),
    ("PT", "Portugal", "Portogallo", "Portugalia", "Portugal", "southern_europe", 0.006, "pt"),
    ("IE", "Ireland", "Irlanda", "Irlandia", "Éire", "northern_europe", 0.005, "en"),
    ("SE", "Sweden", "Svezia", "Szwecja", "Sverige", "northern_europe", 0.004, "sv"),
    (
        "GB",
        "United Kingdom",
        "Regno Unito",
        "Wielka Brytania",
        "United Kingdom",
        "northern_europe",
        0.005,
        "en",
    ),
    (
        "US",
        "United States",
        "Stati Uniti",
        "Stany Zjednoczone",
        "United States",
        "north_america",
        0.006,
        "en",
    ),
    ("GR", "Greece", "Grecia", "Grecja", "Hellas", "southern_europe", 0.0015, "gr"),
    ("HU", "Hungary", "Ungheria", "Węgry", "Magyarország", "central_europe", 0.0010, "hu"),
]
# extra aliases a CRM user might type (lower-cased in the seed)
COUNTRY_EXTRA_ALIASES = {
    "NL": ["the netherlands", "holland", "olanda", "niderlandy"],
    "BE": ["belgië"],
    "CZ": ["czech republic", "czechia", "repubblica ceca"],
    "GB": ["uk", "great britain", "gran bretagna"],
    "US": ["usa", "united states of america", "usa (stati uniti)", "stany zjednoczone ameryki"],
    "GR": ["greece", "ellada"],
    "DE": ["niemcy"],
}
PHONE_PREFIX = {
    "IT": "+39 3",
    "PL": "+48 5",
    "DE": "+49 15",
    "FR": "+33 6",
    "ES": "+34 6",
    "AT": "+43 66",
    "NL": "+31 6",
    "BE": "+32 47",
    "CZ": "+420 6",
    "PT": "+351 9",
    "IE": "+353 8",
    "SE": "+46 7",
    "GB": "+44 7",
    "US": "+1 ",
    "GR": "+30 69",
    "HU": "+36 30",
}
CITIES = {  # city, region, weight
    "IT": [
        ("Milano", "Lombardia", 12),
        ("Roma", "Lazio", 12),
        ("Torino", "Piemonte", 8),
        ("Napoli", "Campania", 8),
        ("Bologna", "Emilia-Romagna", 5),
        ("Firenze", "Toscana", 5),
        ("Bari", "Puglia", 4),
        ("Palermo", "Sicilia", 4),
        ("Genova", "Liguria", 4),
        ("Verona", "Veneto", 3),
        ("Padova", "Veneto", 3),
        ("Catania", "Sicilia", 2),
        ("Forlì", "Emilia-Romagna", 1),
        ("Cantù", "Lombardia", 1),
        ("Aosta", "Valle d'Aosta", 1),
    ],
    "PL": [
        ("Warszawa", "mazowieckie", 12),
        ("Kraków", "małopolskie", 8),
        ("Łódź", "łódzkie", 6),
        ("Wrocław", "dolnośląskie", 6),
        ("Poznań", "wielkopolskie", 5),
        ("Gdańsk", "pomorskie", 5),
        ("Szczecin", "zachodniopomorskie", 3),
        ("Lublin", "lubelskie", 3),
        ("Katowice", "śląskie", 4),
        ("Białystok", "podlaskie", 2),
        ("Bydgoszcz", "kujawsko-pomorskie", 2),
        ("Rzeszów", "podkarpackie", 2),
        ("Toruń", "kujawsko-pomorskie", 1),
        ("Częstochowa", "śląskie", 1),
    ],
    "DE": [
        ("Berlin", "Berlin", 4),
        ("München", "Bayern", 3),
        ("Hamburg", "Hamburg", 2),
        ("Köln", "Nordrhein-Westfalen", 2),
        ("Frankfurt am Main", "Hessen", 2),
    ],
    "FR": [
        ("Paris", "Île-de-France", 4),
        ("Lyon", "Auvergne-Rhône-Alpes", 2),
        ("Marseille", "Provence-Alpes-Côte d'Azur", 2),
        ("Lille", "Hauts-de-France", 1),
    ],
    "ES": [
        ("Madrid", "Comunidad de Madrid", 4),
        ("Barcelona", "Cataluña", 3),
        ("Valencia", "Comunitat Valenciana", 2),
        ("Málaga", "Andalucía", 1),
    ],
    "AT": [("Wien", "Wien", 4), ("Graz", "Steiermark", 2), ("Salzburg", "Salzburg", 1)],
    "NL": [
        ("Amsterdam", "Noord-Holland", 3),
        ("Rotterdam", "Zuid-Holland", 2),
        ("Utrecht", "Utrecht", 1),
    ],
    "BE": [
        ("Bruxelles", "Bruxelles-Capitale", 3),
        ("Antwerpen", "Antwerpen", 2),
        ("Gent", "Oost-Vlaanderen", 1),
    ],
    "CZ": [
        ("Praha", "Hlavní město Praha", 3),
        ("Brno", "Jihomoravský kraj", 2),
        ("Ostrava", "Moravskoslezský kraj", 1),
    ],
    "PT": [("Lisboa", "Lisboa", 2), ("Porto", "Porto", 1)],
    "IE": [("Dublin", "Leinster", 3), ("Cork", "Munster", 1)],
    "SE": [("Stockholm", "Stockholms län", 2), ("Göteborg", "Västra Götalands län", 1)],
    "GB": [("London", "England", 3), ("Manchester", "England", 1), ("Edinburgh", "Scotland", 1)],
    "US": [
        ("New York", "New York", 2),
        ("Chicago", "Illinois", 1),
        ("San Francisco", "California", 1),
    ],
    "GR": [("Athina", "Attiki", 2), ("Thessaloniki", "Kentriki Makedonia", 1)],
    "HU": [("Budapest", "Budapest", 2), ("Debrecen", "Hajdú-Bihar", 1)],
}
# name group -> (female first names, male first names, surnames as (male form, female form))
_IT_SURNAMES = [
    "Rossi",
    "Esposito",
    "De Luca",
    "D'Angelo",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "Mancini",
    "Costa",
    "Giordano",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Leone",
    "Longo",
    "Gentile",
    "Vitale",
    "Coppola",
    "De Santis",
    "D'Amico",
    "Dell'Aquila",
    "Di Stefano",
    "Parisi",
    "Fabbri",
    "Pirrò",
    "Lucà",
    "Mastrodonato",
]
_PL_SURNAMES = [
    "Kowalski",
    "Wiśniewski",
    "Wójcik",
    "Kamiński",
    "Lewandowski",
    "Dąbrowski",
    "Zieliński",
    "Szymański",
    "Woźniak",
    "Kozłowski",
    "Jankowski",
    "Mazur",
    "Krawczyk",
    "Piotrowski",
    "Grabowski",
    "Nowak",
    "Pawłowski",
    "Michalski",
    "Król",
    "Wieczorek",
    "Jabłoński",
    "Wróbel",
    "Stępień",
    "Jaworski",
    "Malinowski",
    "Górski",
    "Sikora",
    "Bąk",
    "Kaźmierczak",
    "Cieślak",
    "Kołodziej",
    "Ziółkowski",
    "Sokołowski",
    "Gęsicki",
    "Włodarczyk",
    "Szczepański",
    "Zając",
    "Duda",
    "Pietrzak",
    "Czerwiński",
]


def _pl_female(surname: str) -> str:
    for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if surname.endswith(male):
            return surname[: -len(male)] + female
    return surname


NAMES = {
    "it": (
        [
            "Ilaria",
            "Ludovica",
            "Giulia",
            "Chiara",
            "Francesca",
            "Federica",
            "Antonella",
            "Sofia",
            "Aurora",
            "Martina",
            "Alessia",
            "Rosaria",
            "Nunzia",
            "Benedetta",
            "Annalisa",
            "Gaia",
        ],
        [
            "Nicolò",
            "Savino",
            "Mattia",
            "Lorenzo",
            "Alessandro",
            "Giuseppe",
            "Salvatore",
            "Raffaele",
            "Francesco",
            "Andrea",
            "Davide",
            "Gennaro",
            "Pasquale",
            "Carmine",
            "Michele",
            "Tommaso",
        ],
        [(s, s) for s in _IT_SURNAMES],
    ),
    "pl": (
        [
            "Małgorzata",
            "Żaneta",
            "Bożena",
            "Agnieszka",
            "Katarzyna",
            "Elżbieta",
            "Dorota",
            "Jadwiga",
            "Halina",
            "Joanna",
            "Magdalena",
            "Anna",
            "Beata",
            "Grażyna",
            "Urszula",
            "Ewa",
            "Jolanta",
            "Łucja",
        ],
        [
            "Łukasz",
            "Józef",
            "Wojciech",
            "Paweł",
            "Grzegorz",
            "Jarosław",
            "Krzysztof",
            "Michał",
            "Tomasz",
            "Stanisław",
            "Bartłomiej",
            "Przemysław",
            "Mirosław",
            "Zbigniew",
            "Andrzej",
            "Piotr",
            "Marek",
            "Kamil",
        ],
        [(s, _pl_female(s)) for s in _PL_SURNAMES],
    ),
    "de": (
        ["Sophie", "Anna", "Hannelore", "Jana", "Lena", "Käthe"],
        ["Jürgen", "Lukas", "Maximilian", "Stefan", "Günther", "Felix"],
        [
            (s, s)
            for s in [
                "Müller",
                "Schmidt",
                "Schäfer",
                "Weiß",
                "Becker",
                "Hoffmann",
                "Krüger",
                "Köhler",
                "Wagner",
                "Fischer",
            ]
        ],
    ),
    "fr": (
        ["Hélène", "Céline", "Amélie", "Élodie", "Camille", "Chloé"],
        ["François", "Jérôme", "Mathieu", "Julien", "Étienne", "Noël"],
        [
            (s, s)
            for s in ["Lefèvre", "Dubois", "Moreau", "Girard", "Bénard", "Laurent", "Rousseau"]
        ],
    ),
    "es": (
        ["María", "Elena", "Carmen", "Inés", "Pilar", "Marta"],
        ["José", "Álvaro", "Javier", "Sergio", "Raúl", "Andrés"],
        [(s, s) for s in ["García", "Martínez", "López", "Sánchez", "Fernández", "Núñez", "Ruiz"]],
    ),
    "pt": (
        ["Inês", "Beatriz", "Conceição", "Mariana"],
        ["João", "Tiago", "Rui", "Gonçalo"],
        [(s, s) for s in ["Silva", "Santos", "Gonçalves", "Pereira", "Ferreira", "Simões"]],
    ),
    "en": (
        ["Emma", "Olivia", "Siobhán", "Charlotte", "Aoife", "Grace"],
        ["James", "Oliver", "Liam", "Michael", "Seán", "Daniel"],
        [
            (s, s)
            for s in [
                "Smith",
                "Murphy",
                "O'Brien",
                "Johnson",
                "Walsh",
                "Taylor",
                "Williams",
                "Kelly",
            ]
        ],
    ),
    "nl": (
        ["Sanne", "Femke", "Lotte", "Anouk"],
        ["Daan", "Sem", "Bram", "Joris"],
        [(s, s) for s in ["de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Peeters"]],
    ),
    "cz": (
        ["Tereza", "Kateřina", "Lucie", "Jana"],
        ["Jiří", "Tomáš", "Petr", "Lukáš"],
        [
            ("Novák", "Nováková"),
            ("Dvořák", "Dvořáková"),
            ("Černý", "Černá"),
            ("Procházka", "Procházková"),
            ("Svoboda", "Svobodová"),
        ],
    ),
    "sv": (
        ["Åsa", "Ingrid", "Linnéa", "Karin"],
        ["Erik", "Lars", "Anders", "Björn"],
        [(s, s) for s in ["Andersson", "Johansson", "Lindström", "Åberg", "Nilsson"]],
    ),
    "gr": (
        ["Eleni", "Maria", "Katerina"],
        ["Nikos", "Giorgos", "Dimitris"],
        [("Papadopoulos", "Papadopoulou"), ("Georgiou", "Georgiou"), ("Nikolaidis", "Nikolaidou")],
    ),
    "hu": (
        ["Erzsébet", "Katalin", "Zsófia"],
        ["László", "Zoltán", "Gábor"],
        [(s, s) for s in ["Nagy", "Kovács", "Tóth", "Szabó", "Horváth"]],
    ),
}
STREETS = {
    "it": [
        "Via Roma",
        "Via Garibaldi",
        "Corso Vittorio Emanuele II",
        "Via Mazzini",
        "Piazza Duomo",
        "Via Cavour",
        "Via Dante Alighieri",
        "Viale dell'Università",
        "Via Nicolò Tommaseo",
    ],
    "pl": [
        "ul. Marszałkowska",
        "ul. Żeromskiego",
        "ul. Kościuszki",
        "ul. Piłsudskiego",
        "al. Jana Pawła II",
        "ul. Mickiewicza",
        "ul. Słowackiego",
        "ul. Długa",
        "ul. Świętokrzyska",
    ],
    "de": ["Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Gartenweg"],
    "fr": ["Rue de la Paix", "Avenue Victor Hugo", "Rue Émile Zola"],
    "es": ["Calle Mayor", "Avenida de la Constitución", "Calle de Alcalá"],
    "pt": ["Rua Augusta", "Avenida da Liberdade"],
    "en": ["High Street", "Station Road", "Main Street", "Church Lane"],
    "nl": ["Kerkstraat", "Dorpsstraat", "Stationsweg"],
    "cz": ["Národní", "Vodičkova", "Karlova"],
    "sv": ["Storgatan", "Drottninggatan", "Kungsgatan"],
    "gr": ["Odos Ermou", "Leoforos Syngrou"],
    "hu": ["Andrássy út", "Váci utca", "Rákóczi út"],
}
EMAIL_DOMAINS = {
    "it": ["gmail.com", "libero.it", "hotmail.it", "virgilio.it", "outlook.com", "tiscali.it"],
    "pl": ["gmail.com", "wp.pl", "onet.pl", "o2.pl", "interia.pl", "outlook.com"],
    "de": ["gmail.com", "web.de", "gmx.de", "t-online.de"],
    "fr": ["gmail.com", "orange.fr", "free.fr"],
    "es": ["gmail.com", "hotmail.es", "yahoo.es"],
    "pt": ["gmail.com", "sapo.pt"],
    "en": ["gmail.com", "outlook.com", "yahoo.com"],
    "nl": ["gmail.com", "ziggo.nl"],
    "cz": ["seznam.cz", "gmail.com"],
    "sv": ["gmail.com", "telia.se"],
    "gr": ["gmail.com", "otenet.gr"],
    "hu": ["gmail.com", "freemail.hu"],
}
LEGAL_SUFFIX = {
    "IT": "S.r.l.",
    "PL": "Sp. z o.o.",
    "DE": "GmbH",
    "AT": "GmbH",
    "FR": "SAS",
    "ES": "S.L.",
    "NL": "B.V.",
    "BE": "BV",
    "CZ": "s.r.o.",
    "PT": "Lda.",
    "IE": "Ltd",
    "GB": "Ltd",
    "SE": "AB",
    "US": "Inc.",
    "GR": "A.E.",
    "HU": "Kft.",
}
COMPANY_WORDS = {
    "it": ["Forniture", "Servizi", "Commerciale", "Distribuzione", "Impianti", "Ristorazione"],
    "pl": ["Handel", "Usługi", "Dystrybucja", "Serwis", "Budownictwo", "Gastronomia"],
    "other": ["Trading", "Supplies", "Solutions", "Services", "Logistics"],
}
INTERNAL_DOMAIN = "vetrina-group.example"
INDUSTRIES = [
    ("retail", 20),
    ("hospitality", 14),
    ("manufacturing", 14),
    ("construction", 10),
    ("healthcare", 8),
    ("education", 7),
    ("logistics", 7),
    ("professional_services", 9),
    ("public_sector", 4),
    ("agriculture", 4),
    ("aerospace", 0.6),
    ("mining", 0.4),
]

PRODUCT_CATEGORIES = [  # canonical, popularity, median list price EUR, has technology generations
    ("electronics", 14, 240.0, True),
    ("home", 12, 60.0, True),
    ("garden", 6, 45.0, True),
    ("pet", 7, 25.0, False),
    ("toys", 6, 30.0, False),
    ("books", 7, 18.0, False),
    ("beauty", 9, 24.0, False),
    ("sports", 8, 55.0, True),
    ("grocery", 10, 8.0, False),
    ("fashion", 11, 45.0, False),
    ("office", 5, 20.0, True),
    ("services", 4, 80.0, False),
]
# the CRM's own category labels (several source systems, three languages, untidy case)
PRODUCT_CATEGORY_LABELS = {
    "electronics": ["Elettronica", "Elektronika", "Electronics", "Informatica", "RTV i komputery"],
    "home": ["Casa e cucina", "Dom i kuchnia", "Home & Kitchen", "Arredamento", "Meble"],
    "garden": ["Giardino", "Ogród", "Garden", "Giardinaggio"],
    "pet": ["Animali domestici", "Zwierzęta", "Pet supplies", "Prodotti per animali"],
    "toys": ["Giocattoli", "Zabawki", "Toys & games"],
    "books": ["Libri", "Książki", "Books"],
    "beauty": ["Bellezza", "Uroda", "Beauty & personal care", "Cosmetici", "Kosmetyki"],
    "sports": ["Sport e tempo libero", "Sport i rekreacja", "Sports & outdoors"],
    "grocery": ["Alimentari", "Artykuły spożywcze", "Grocery", "Spożywcze"],
    "fashion": ["Abbigliamento", "Odzież", "Fashion", "Moda"],
    "office": ["Ufficio", "Artykuły biurowe", "Office supplies", "Cancelleria"],
    "services": [
        "Servizi",
        "Usługi",
        "Services",
        "Riparazioni",
        "Naprawy",
        "Repairs",
        "Assistenza tecnica",
        "Serwis",
    ],
}
PRODUCT_NOUNS = {
    "electronics": [
        "Cuffie wireless",
        "Smartfon",
        "Laptop",
        "Tablet",
        "Smartwatch",
        "Głośnik Bluetooth",
        "Monitor",
        "Router Wi-Fi",
    ],
    "home": [
        "Robot aspirapolvere",
        "Ekspres do kawy",
        "Frullatore",
        "Padella antiaderente",
        "Lampa LED",
        "Pościel",
    ],
    "garden": ["Tosaerba", "Kosiarka", "Irrigatore", "Grill ogrodowy", "Vaso da esterno"],
    "pet": ["Crocchette per cani", "Karma dla kota", "Lettiera", "Gioco per gatti", "Smycz"],
    "toys": ["Costruzioni", "Klocki", "Puzzle 1000", "Bambola", "Gra planszowa"],
    "books": ["Romanzo", "Książka kucharska", "Guida turistica", "Kryminał", "Manuale"],
    "beauty": ["Crema viso", "Szampon", "Profumo", "Siero", "Balsam"],
    "sports": ["Scarpe da corsa", "Rower", "Zaino trekking", "Mata do jogi", "Racchetta"],
    "grocery": ["Caffè in grani", "Herbata", "Pasta di Gragnano", "Oliwa", "Cioccolato"],
    "fashion": ["Giacca", "Kurtka", "Sciarpa", "Buty", "Camicia", "Sukienka"],
    "office": ["Risma carta A4", "Długopis", "Sedia ergonomica", "Toner", "Segregatore"],
    "services": [
        "Riparazione schermo",
        "Naprawa serwisowa",
        "Estensione garanzia",
        "Installazione",
        "Przegląd",
    ],
}
BRANDS = [
    "Vetra",
    "Nordika",
    "Polaris",
    "Solea",
    "Korvo",
    "Alba",
    "Wisła",
    "Orso",
    "Lumen",
    "Tatra",
    "Brezza",
    "Sokół",
]

TICKET_CATEGORIES = [
    "question",
    "complaint",
    "document_request",
    "escalation",
    "price_negotiation",
    "out_of_catalogue_request",
    "suggestion",
    "billing",
    "other",
]
# labels per canonical category and language (it, pl, en)
TICKET_LABELS = {
    "question": (
        ["Domanda sul prodotto", "Informazioni disponibilità", "Domanda"],
        ["Pytanie o produkt", "Pytanie o dostępność", "Pytanie"],
        ["Product question", "Availability question", "Question"],
    ),
    "complaint": (
        ["Reclamo", "Prodotto difettoso"],
        ["Reklamacja", "Wadliwy produkt"],
        ["Complaint", "Defective product"],
    ),
    "document_request": (
        ["Richiesta certificato", "Richiesta copia contratto", "Richiesta garanzia"],
        ["Prośba o certyfikat", "Prośba o kopię umowy", "Prośba o dokument gwarancyjny"],
        ["Certificate request", "Contract copy request", "Warranty document request"],
    ),
    "escalation": (
        ["Voglio parlare con il responsabile", "Escalation"],
        ["Chcę rozmawiać z kierownikiem", "Eskalacja"],
        ["Speak to a manager", "Escalation request"],
    ),
    "price_negotiation": (
        ["Richiesta sconto", "Trattativa prezzo"],
        ["Negocjacja ceny", "Prośba o rabat"],
        ["Price negotiation", "Discount request"],
    ),
    "out_of_catalogue_request": (
        ["Prodotto non a catalogo", "Richiesta prodotto non disponibile"],
        ["Produkt spoza oferty", "Prośba o produkt spoza katalogu"],
        ["Out of catalogue request", "Product not in catalogue"],
    ),
    "suggestion": (
        ["Suggerimento", "Proposta di miglioramento"],
        ["Sugestia", "Propozycja ulepszenia"],
        ["Suggestion", "Improvement idea"],
    ),
    "billing": (
        ["Domanda sulla fattura", "Problema di pagamento", "Confronto prezzi"],
        ["Prośba o fakturę", "Pytanie o płatność", "Porównanie cen"],
        ["Invoice question", "Billing issue", "Price comparison"],
    ),
    "other": (["Altro"], ["Inne"], ["Other"]),
}
NPS_COMMENTS = {  # language -> (detractor, passive, promoter)
    "it": (
        [
            "Consegna in ritardo, servizio clienti assente",
            "Prodotto arrivato danneggiato",
            "Prezzi troppo alti",
        ],
        ["Tutto ok", "Buono, ma la consegna è lenta"],
        ["Ottimo servizio, consegna veloce", "Lo consiglio a tutti!", "Personale gentilissimo"],
    ),
    "pl": (
        ["Dostawa spóźniona, brak kontaktu", "Produkt uszkodzony", "Za drogo"],
        ["W porządku", "Dobrze, ale długa dostawa"],
        ["Świetna obsługa, szybka dostawa", "Polecam wszystkim!", "Bardzo miły personel"],
    ),
    "en": (
        ["Late delivery, no answer from support", "Item arrived damaged", "Too expensive"],
        ["Fine", "Good, but slow delivery"],
        ["Great service, fast delivery", "Would recommend to everyone!", "Very helpful staff"],
    ),
}
PROMO_CODES = [  # code, discount share, month filter (0 = any)
    ("WELCOME10", 0.10, 0),
    ("SCONTO15", 0.15, 0),
    ("RABAT15", 0.15, 0),
    ("NEWSLETTER5", 0.05, 0),
    ("SALDI20", 0.20, 1),
    ("WYPRZEDAZ20", 0.20, 7),
    ("BLACKFRIDAY25", 0.25, 11),
    ("XMAS15", 0.15, 12),
]
ORDER_CHANNELS = ["web", "store", "phone", "marketplace", "sales_rep"]
TICKET_CHANNELS = ["phone", "email", "chat", "sms", "in_person"]
TOUCH_TYPES = [
    "impression",
    "send",
    "open",
    "click",
    "visit",
    "form",
    "demo_request",
    "quote_request",
]
ACQ_CHANNELS = [
    "organic_search",
    "paid_search",
    "social",
    "email",
    "referral",
    "events",
    "partner",
    "direct",
    "sales_team",
]
INCOME_BANDS = ["low", "lower_middle", "middle", "upper_middle", "high"]
PAYMENT_METHODS = ["card", "transfer", "cash", "paypal", "blik"]
PLN_PER_EUR = 4.30

# --------------------------------------------------------------------------------------
# Personas: hidden behaviour profiles (never written to the extract)
# --------------------------------------------------------------------------------------

# canonical ticket-category weights, in TICKET_CATEGORIES order
_TW_DEFAULT = [0.42, 0.14, 0.05, 0.02, 0.03, 0.03, 0.05, 0.12, 0.14]
PERSONA_DEFAULTS = dict(
    share=0.0,
    kind="repeat",
    created=(0, -60),
    account=0,
    internal=False,
    first_delay=10.0,
    gap=(50, 120),
    shape=1.5,
    p_drop=0.10,
    seasonal=True,
    lines=0.4,
    single=0.45,
    qty=(0.0, 0.35),
    breadth=(2, 4),
    pools=(0.08, 0.04, 0.15),
    promo=0.12,
    line_disc=0.03,
    gift=0.03,
    cancel=0.025,
    ret=0.035,
    late=0.02,
    unpaid=0.004,
    ticket_rate=0.3,
    ticket_w=_TW_DEFAULT,
    urgent=0.12,
    offhours=0.10,
    clar=0.6,
    pre_q=0.03,
    pre_w=[1, 0, 0, 0, 0, 0, 0, 0, 0],
    post=0.04,
    post_w=[0.25, 0.40, 0.08, 0.03, 0.02, 0.0, 0.04, 0.15, 0.03],
    nps_rr=0.10,
    nps_mode="mixed",
    public=0.05,
    out_rate=0.10,
    eng_rate=0.04,
    eng_extra=(0, 0),
    pre_touch=0.10,
    eng_w=[0.35, 0.30, 0.25, 0.05, 0.02, 0.03],  # open, click, visit, form, demo, quote
    chan_w=[0.64, 0.18, 0.05, 0.13, 0.0],
    tchan_w=[0.30, 0.35, 0.25, 0.05, 0.05],
    income_shift=0.0,
    age=(42, 14),
    no_touch_before_order=False,
)
PERSONAS = {
    "reach_only": dict(
        share=0.075,
        kind="prospect",
        created=(0, -15),
        out_rate=0.3,
        eng_rate=0.0,
        pre_touch=0.0,
        ticket_rate=0.0,
        nps_rr=0.0,
    ),
    "engaged_prospect": dict(
        share=0.065,
        kind="prospect",
        created=(0, -15),
        out_rate=0.15,
        eng_rate=0.15,
        eng_extra=(2, 6),
        eng_w=[0.2, 0.25, 0.25, 0.12, 0.09, 0.09],
        ticket_rate=0.35,
        ticket_w=[0.8, 0, 0.05, 0, 0.03, 0.02, 0, 0.1, 0.0],
        nps_rr=0.0,
    ),
    "wanderer": dict(
        share=0.04,
        kind="wanderer",
        created=(0, -90),
        out_rate=0.2,
        eng_rate=1.0,
        eng_extra=(10, 25),
        ticket_rate=2.0,
        ticket_w=[0.75, 0.02, 0.05, 0, 0.05, 0.05, 0.03, 0.05, 0.0],
        pre_q=0.6,
        pre_touch=0.9,
        nps_rr=0.05,
    ),
    "one_time": dict(
        share=0.075, kind="one_time", created=(0, -150), ticket_rate=0.1, nps_rr=0.2, out_rate=0.12
    ),
    "recent_first": dict(
        share=0.04, kind="recent_first", created=(-100, -8), first_delay=6.0, nps_rr=0.15
    ),
    "regular_account": dict(
        share=0.06,
        created=(0, 420),
        gap=(18, 34),
        shape=14.0,
        p_drop=0.004,
        seasonal=False,
        breadth=(5, 8),
        lines=0.8,
        single=0.15,
        promo=0.06,
        nps_rr=0.12,
        nps_mode="high",
        pre_touch=0.12,
        ticket_rate=0.25,
        income_shift=0.8,
    ),
    "promoter": dict(
        share=0.04,
        created=(0, 800),
        gap=(25, 50),
        shape=6.0,
        p_drop=0.01,
        breadth=(3, 6),
        nps_rr=0.45,
        nps_mode="promoter",
        ticket_rate=0.5,
        ticket_w=[0.3, 0.03, 0.05, 0, 0, 0.05, 0.42, 0.05, 0.1],
        income_shift=0.5,
    ),
    "discount_hunter": dict(
        share=0.045,
        created=(0, -200),
        gap=(35, 80),
        p_drop=0.05,
        promo=0.88,
        line_disc=0.6,
        pools=(0.0, 0.0, 0.35),
        chan_w=[0.55, 0.05, 0.0, 0.4, 0.0],
        ticket_w=[0.3, 0.1, 0.02, 0.02, 0.2, 0.02, 0.02, 0.25, 0.07],
        income_shift=-0.7,
    ),
    "impulsive": dict(
        share=0.045,
        created=(0, -200),
        gap=(50, 110),
        shape=1.0,
        p_drop=0.05,
        lines=0.0,
        single=0.95,
        breadth=(12, 12),
        pre_touch=0.0,
        pre_q=0.0,
        eng_rate=0.02,
        out_rate=0.08,
        ticket_rate=0.1,
        ret=0.06,
        no_touch_before_order=True,
    ),
    "need_oriented": dict(
        share=0.05,
        created=(0, -300),
        gap=(28, 50),
        shape=10.0,
        p_drop=0.008,
        seasonal=False,
        breadth=(1, 2),
        lines=0.3,
        single=0.5,
        pre_touch=0.85,
        pre_q=0.25,
        eng_w=[0.1, 0.35, 0.5, 0.03, 0.0, 0.02],
        pools=(0.05, 0.02, 0.1),
    ),
    "high_volume": dict(
        share=0.02,
        created=(0, -300),
        gap=(30, 60),
        shape=4.0,
        p_drop=0.015,
        lines=1.0,
        single=0.1,
        qty=(2.3, 0.6),
        account=1,
    ),
    "toxic": dict(
        share=0.02,
        created=(0, -300),
        gap=(35, 80),
        shape=2.0,
        p_drop=0.02,
        ticket_rate=6.0,
        ticket_w=[0.08, 0.2, 0.05, 0.1, 0.25, 0.2, 0.0, 0.07, 0.05],
        urgent=0.8,
        offhours=0.6,
        clar=4.0,
        post=0.3,
        post_w=[0.05, 0.35, 0.05, 0.2, 0.25, 0.05, 0.0, 0.05, 0.0],
        nps_rr=0.3,
        nps_mode="low",
        public=0.7,
        late=0.5,
        unpaid=0.25,
        promo=0.3,
        tchan_w=[0.55, 0.2, 0.15, 0.1, 0.0],
    ),
    "courteous_silent": dict(
        share=0.035,
        kind="silent",
        created=(0, -500),
        gap=(35, 60),
        shape=5.0,
        p_drop=0.0,
        ticket_rate=0.0,
        pre_q=0.0,
        post=0.0,
        nps_rr=0.0,
        eng_rate=0.01,
    ),
    "gift_buyer": dict(share=0.025, created=(0, -200), gap=(45, 110), p_drop=0.03, gift=0.65),
    "internal": dict(
        share=0.015,
        created=(0, -200),
        gap=(45, 120),
        p_drop=0.03,
        internal=True,
        line_disc=1.0,
        promo=0.0,
        chan_w=[0.5, 0.5, 0, 0, 0],
        out_rate=0.03,
    ),
    "purchasing_agent": dict(
        share=0.02,
        created=(0, -300),
        account=2,
        gap=(20, 45),
        shape=6.0,
        p_drop=0.008,
        seasonal=False,
        lines=2.0,
        single=0.05,
        qty=(3.2, 0.8),
        breadth=(3, 6),
        chan_w=[0.2, 0.0, 0.2, 0.0, 0.6],
        late=0.15,
        unpaid=0.02,
        promo=0.02,
        line_disc=0.4,
        first_delay=25.0,
        ticket_w=[0.25, 0.08, 0.2, 0.02, 0.1, 0.05, 0.05, 0.2, 0.05],
        eng_w=[0.2, 0.2, 0.2, 0.1, 0.15, 0.15],
        tchan_w=[0.4, 0.45, 0.05, 0.0, 0.1],
    ),
    "business": dict(
        share=0.025,
        created=(0, -300),
        account=1,
        gap=(25, 60),
        shape=4.0,
        p_drop=0.015,
        lines=1.2,
        single=0.1,
        qty=(1.3, 0.7),
        breadth=(3, 6),
        chan_w=[0.4, 0.0, 0.2, 0.0, 0.4],
        late=0.12,
        unpaid=0.02,
        promo=0.05,
        line_disc=0.3,
        first_delay=20.0,
        eng_w=[0.2, 0.2, 0.2, 0.1, 0.15, 0.15],
        tchan_w=[0.4, 0.45, 0.05, 0.0, 0.1],
    ),
    "lapsed": dict(
        share=0.04, kind="lapsed", created=(0, 500), gap=(35, 80), shape=2.0, p_drop=0.0
    ),
    "regained": dict(
        share=0.025, kind="regained", created=(0, 300), gap=(30, 60), shape=3.0, p_drop=0.0
    ),
    "curious": dict(
        share=0.015,
        created=(0, -200),
        ticket_rate=2.5,
        ticket_w=[0.85, 0.02, 0.03, 0, 0, 0.03, 0.02, 0.03, 0.02],
        pre_q=0.5,
        pre_touch=0.4,
    ),
    "distrustful": dict(
        share=0.015,
        created=(0, -200),
        post=0.4,
        post_w=[0.1, 0.7, 0.1, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0],
        ret=0.2,
        cancel=0.08,
        nps_rr=0.25,
        nps_mode="mid",
        public=0.3,
    ),
    "paranoid": dict(
        share=0.015,
        created=(0, -200),
        ticket_rate=1.5,
        ticket_w=[0.1, 0.02, 0.78, 0, 0, 0, 0, 0.05, 0.05],
        pre_q=0.2,
        pre_w=[0.3, 0, 0.7, 0, 0, 0, 0, 0, 0],
        post=0.2,
        post_w=[0.05, 0.05, 0.85, 0, 0, 0, 0, 0.05, 0],
    ),
    "aggressive": dict(
        share=0.012,
        created=(0, -200),
        ticket_rate=1.5,
        ticket_w=[0.05, 0.3, 0.02, 0.55, 0.03, 0, 0, 0.03, 0.02],
        post=0.15,
        post_w=[0, 0.4, 0, 0.6, 0, 0, 0, 0, 0],
        urgent=0.4,
        tchan_w=[0.6, 0.2, 0.1, 0.0, 0.1],
    ),
    "finance_attentive": dict(
        share=0.015,
        created=(0, -200),
        ticket_rate=1.5,
        ticket_w=[0.1, 0.02, 0.03, 0, 0.25, 0, 0, 0.58, 0.02],
        pre_w=[0.3, 0, 0, 0, 0.2, 0, 0, 0.5, 0],
        pre_q=0.15,
        post=0.15,
        post_w=[0, 0, 0, 0, 0.2, 0, 0, 0.8, 0],
        promo=0.35,
    ),
    "hurried": dict(
        share=0.015,
        created=(0, -200),
        ticket_rate=1.5,
        ticket_w=[0.4, 0.2, 0.03, 0.02, 0, 0.02, 0, 0.2, 0.13],
        urgent=0.85,
        offhours=0.25,
        tchan_w=[0.5, 0.1, 0.35, 0.05, 0.0],
    ),
    "premium_tech": dict(
        share=0.025,
        created=(-700, -150),
        gap=(40, 90),
        pools=(0.5, 0.45, 0.0),
        promo=0.03,
        income_shift=2.0,
        breadth=(2, 3),
    ),
    "cost_oriented": dict(
        share=0.03,
        created=(0, -200),
        gap=(35, 80),
        pools=(0.0, 0.0, 0.8),
        promo=0.45,
        line_disc=0.2,
        income_shift=-1.5,
        breadth=(2, 3),
    ),
    "ordinary": dict(share=None),  # the remainder
}
PERSONA_NAMES = list(PERSONAS)
P_INDEX = {name: i for i, name in enumerate(PERSONA_NAMES)}


def _persona_table() -> dict[str, np.ndarray]:
    merged = [{**PERSONA_DEFAULTS, **PERSONAS[name]} for name in PERSONA_NAMES]
    table: dict[str, np.ndarray] = {}
    for key in PERSONA_DEFAULTS:
        values = [m[key] for m in merged]
        if key == "share":
            continue
        table[key] = np.array(values, dtype=object if isinstance(values[0], str) else None)
    fixed = sum(m["share"] for m in merged if m["share"] is not None)
    table["share"] = np.array(
        [m["share"] if m["share"] is not None else 1.0 - fixed for m in merged]
    )
    return table


PT = _persona_table()

# --------------------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------------------


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent, deterministic random stream per purpose."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parent index and position within parent for ``counts[i]`` children of each parent."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    within = np.arange(len(parent), dtype=np.int64) - np.repeat(starts, counts)
    return parent, within


_CHOICE_BINS = 1 << 14


def group_choice(group: np.ndarray, weights, u: np.ndarray) -> np.ndarray:
    """Categorical choice with a weight row per group (``weights[group[i]]``) from uniforms ``u``.

    One table lookup per row: each group's inverse CDF is tabulated on 16,384 quantiles.
    """
    w = np.asarray(weights, dtype=float)
    cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    q = (np.arange(_CHOICE_BINS) + 0.5) / _CHOICE_BINS
    table = np.stack([np.searchsorted(c, q, side="right") for c in cum])
    table = table.clip(0, w.shape[1] - 1).astype(np.int8).ravel()
    index = np.asarray(group, dtype=np.int64) * _CHOICE_BINS + (u * _CHOICE_BINS).astype(np.int64)
    return table[index]


def weighted_choice(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.searchsorted(np.cumsum(w / w.sum()), rng.random(size), side="right").clip(
        0, len(w) - 1
    )


def to_ts(sec: np.ndarray) -> pa.Array:
    """Seconds since HISTORY_START -> arrow timestamp[s] (ABSENT -> null)."""
    sec = np.asarray(sec, dtype=np.int64)
    mask = sec == ABSENT
    values = np.where(mask, 0, sec + BASE_EPOCH).astype("datetime64[s]")
    return pa.array(values, mask=mask if mask.any() else None)


def to_date(day: np.ndarray) -> pa.Array:
    """Days since HISTORY_START -> arrow date32 (ABSENT -> null)."""
    day = np.asarray(day, dtype=np.int64)
    mask = day == ABSENT
    values = (np.where(mask, 0, day) + BASE_EPOCH // DAY).astype(np.int32)
    return pa.array(values, type=pa.date32(), mask=mask if mask.any() else None)


def dict_col(idx: np.ndarray, labels: list[str]) -> pa.Array:
    idx = np.asarray(idx)
    mask = idx < 0
    indices = pa.array(np.where(mask, 0, idx).astype(np.int32), mask=mask if mask.any() else None)
    return pa.DictionaryArray.from_arrays(indices, pa.array(labels, type=pa.string()))


def ascii_slug(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L").replace("ß", "ss").replace("ø", "o")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum())


def pick_rows(
    rng: np.random.Generator, n: int, rate: float, minimum: int, eligible=None
) -> np.ndarray:
    """Indices of ``rate`` of ``n`` rows (at least ``minimum``), optionally among ``eligible``."""
    pool = np.arange(n) if eligible is None else np.flatnonzero(eligible)
    k = min(len(pool), max(minimum, int(round(rate * len(pool)))))
    return np.sort(rng.choice(pool, size=k, replace=False)) if k else np.array([], dtype=np.int64)


# --------------------------------------------------------------------------------------
# Configuration and calendar
# --------------------------------------------------------------------------------------


@dataclass
class Config:
    contacts: int = 2000
    seed: int = 42
    drops: int = 4
    out: Path = Path("data/sample/landing")
    fmt: str = "csv"
    last_drop: dt.date = DEFAULT_LAST_DROP
    quiet: bool = False

    @property
    def end_day(self) -> int:
        """Index of the last drop day (days since HISTORY_START)."""
        return (self.last_drop - HISTORY_START).days

    @property
    def end_sec(self) -> int:
        """Exclusive end of history: midnight after the last drop day."""
        return (self.end_day + 1) * DAY

    @property
    def first_drop_day(self) -> int:
        return self.end_day - (self.drops - 1)

    def drop_name(self, k: int) -> str:
        return (HISTORY_START + dt.timedelta(days=self.first_drop_day + k)).isoformat()


def seasonal_intensity(n_days: int) -> np.ndarray:
    """Relative daily purchase intensity (mean 1): November/December peaks, summer dip."""
    dates = np.datetime64(HISTORY_START.isoformat()) + np.arange(n_days)
    month = (dates.astype("datetime64[M]").astype(int) % 12) + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(int) + 1
    level = np.ones(n_days)
    level[month == 1] = 0.85
    level[month == 2] = 0.9
    level[month == 7] = 0.9
    level[month == 8] = 0.75
    level[month == 11] = 1.35
    level[(month == 11) & (dom >= 20)] = 2.1  # Black Friday / Cyber Monday
    level[(month == 12) & (dom <= 21)] = 1.9
    level[(month == 12) & (dom > 21)] = 0.9
    return level / level.mean()


# --------------------------------------------------------------------------------------
# Event versions and drops
# --------------------------------------------------------------------------------------


def emit_versions(times: np.ndarray, cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which versions of each row the drops carry.

    ``times`` is (rows, events) in seconds, non-decreasing per row, ABSENT for events that
    never happen. A drop carries the state of a row at the end of its day when the row was
    created or changed that day (the first drop carries everything up to its end). Returns
    (row, event, drop) for every emitted version.
    """
    times = np.asarray(times, dtype=np.int64)
    if times.ndim == 1:  # one event per row: no state changes
        row = np.flatnonzero(times < cfg.end_sec)
        drop = np.maximum(times[row] // DAY - cfg.first_drop_day, 0).astype(np.int16)
        if len(drop) and np.any(drop[1:] < drop[:-1]):
            order = np.argsort(drop, kind="stable")
            row, drop = row[order], drop[order]
        return row, np.zeros(len(row), np.int8), drop
    valid = times < cfg.end_sec
    drop = np.where(valid, np.maximum(times // DAY - cfg.first_drop_day, 0), -1)
    nxt = np.full_like(drop, -1)
    nxt[:, :-1] = drop[:, 1:]
    emit = valid & (nxt != drop)
    row, event = np.nonzero(emit)  # row-major: ordered by row, then event
    drop = drop[row, event].astype(np.int16)
    order = np.argsort(drop, kind="stable")  # radix sort on 16-bit keys
    return row[order], event[order].astype(np.int8), drop[order]


def with_resends(row, event, drop, rate, cfg, rng, minimum=2):
    """Append identical copies of some first-drop rows to a later drop, then order by drop."""
    if cfg.drops > 1 and rate > 0:
        first = drop == 0
        pick = pick_rows(rng, len(row), rate, minimum, eligible=first)
        row = np.concatenate([row, row[pick]])
        event = np.concatenate([event, event[pick]])
        drop = np.concatenate([drop, rng.integers(1, cfg.drops, len(pick)).astype(np.int16)])
        order = np.argsort(drop, kind="stable")
        row, event, drop = row[order], event[order], drop[order]
    return row, event, drop


@dataclass
class EntityOut:
    """One entity, ready to write: its version rows (ordered by drop) and how to render them.

    ``columns`` are the contract columns as SQL over ``table`` with native types (DuckDB
    formats them fast). Rows whose ``defect`` column is non-zero are rendered with the
    text overrides in ``defect_columns`` instead (unparseable dates and the like).
    """

    name: str
    table: pa.Table
    drops: np.ndarray
    columns: dict[str, str]
    defect_columns: dict[str, str] = field(default_factory=dict)
    timestamp_format: str = DEFAULT_TIMESTAMP_FORMAT


def generate_campaigns(cfg: Config, rng: np.random.Generator) -> dict:
    """Monthly campaigns per market (IT, PL, international) and channel, with costs."""
    months = (cfg.last_drop.year - HISTORY_START.year) * 12 + cfg.last_drop.month
    scale = max(cfg.contacts, 200) / 2000.0
    plan = [  # channel, probability per market-month, duration range, base cost EUR
        ("email", 0.8, (7, 21), 600.0),
        ("paid_search", 0.7, (30, 60), 5000.0),
        ("social", 0.6, (14, 45), 3500.0),
        ("events", 0.12, (1, 3), 8000.0),
        ("partner", 0.12, (30, 90), 4500.0),
        ("sales_team", 0.12, (60, 120), 9000.0),
    ]
    themes = {
        "it": {
            1: "Saldi invernali",
            2: "San Valentino",
            3: "Primavera",
            4: "Pasqua",
            5: "Festa della mamma",
            6: "Estate",
            7: "Saldi estivi",
            8: "Ferragosto",
            9: "Rientro a scuola",
            10: "Autunno",
            11: "Black Friday",
            12: "Natale",
        },
        "pl": {
            1: "Wyprzedaż zimowa",
            2: "Walentynki",
            3: "Wiosna",
            4: "Wielkanoc",
            5: "Dzień Matki",
            6: "Lato",
            7: "Wyprzedaż letnia",
            8: "Wakacje",
            9: "Powrót do szkoły",
            10: "Jesień",
            11: "Black Friday",
            12: "Święta Bożego Narodzenia",
        },
        "en": {
            1: "Winter sale",
            2: "Valentine's",
            3: "Spring",
            4: "Easter",
            5: "Mother's day",
            6: "Summer",
            7: "Summer sale",
            8: "Holidays",
            9: "Back to school",
            10: "Autumn",
            11: "Black Friday",
            12: "Christmas",
        },
    }
    markets = [("IT", "it", 1.0), ("PL", "pl", 0.8), ("INT", "en", 0.3)]
    rows = []
    for m in range(months):
        year, month = HISTORY_START.year + m // 12, m % 12 + 1
        month_start = (dt.date(year, month, 1) - HISTORY_START).days
        for market_i, (market, lang, weight) in enumerate(markets):
            for channel, prob, (dmin, dmax), base in plan:
                if rng.random() >= prob * (0.5 if market == "INT" else 1.0):
                    continue
                start = month_start + int(rng.integers(0, 20))
                if start > cfg.end_day:
                    continue
                duration = int(rng.integers(dmin, dmax + 1))
                budget = (
                    base
                    * weight
                    * scale
                    * rng.uniform(0.6, 1.4)
                    * (duration / ((dmin + dmax) / 2)) ** 0.5
                )
                rows.append(
                    (
                        market_i,
                        lang,
                        channel,
                        start,
                        start + duration - 1,
                        budget,
                        f"{themes[lang][month]} {year} {market} {channel.replace('_', ' ')}",
                    )
                )
        if month == 3:  # yearly referral programme per market
            for market_i, (market, lang, weight) in enumerate(markets[:2]):
                start = month_start
                rows.append(
                    (
                        market_i,
                        lang,
                        "referral",
                        start,
                        start + 364,
                        2500.0 * weight * scale,
                        f"Referral programme {year} {market}",
                    )
                )
    rows.sort(key=lambda r: (r[3], r[0], r[2]))
    market = np.array([r[0] for r in rows], dtype=np.int8)
    start = np.array([r[3] for r in rows], dtype=np.int64)
    end = np.array([r[4] for r in rows], dtype=np.int64)
    budget_cents = np.array([round(r[5] * 100) for r in rows], dtype=np.int64)
    pln = market == 1
    budget_cents = np.where(
        pln, np.round(budget_cents * PLN_PER_EUR, -2).astype(np.int64), budget_cents
    )
    final_cents = np.round(budget_cents * rng.uniform(0.85, 1.15, len(rows))).astype(np.int64)
    return dict(
        market=market,
        start=start,
        end=end,
        budget=budget_cents,
        final=final_cents,
        pln=pln,
        channel=np.array([ACQ_CHANNELS.index(r[2]) for r in rows], dtype=np.int8),
        name=[r[6] for r in rows],
    )


def active_campaign_index(camp: dict, n_days: int, channels_ok: np.ndarray | None = None):
    """CSR index: for each market and day, the campaigns running that day."""
    lists = [[[] for _ in range(n_days)] for _ in range(3)]
    for i in range(len(camp["start"])):
        if channels_ok is not None and not channels_ok[camp["channel"][i]]:
            continue
        for d in range(max(0, camp["start"][i]), min(n_days, camp["end"][i] + 1)):
            lists[camp["market"][i]][d].append(i)
    offsets = np.zeros((3, n_days + 1), dtype=np.int64)
    flat = []
    for mk in range(3):
        for d in range(n_days):
            offsets[mk, d + 1] = offsets[mk, d] + len(lists[mk][d])
        flat.append(np.array([c for d in range(n_days) for c in lists[mk][d]], dtype=np.int64))
    base = np.cumsum([0] + [len(f) for f in flat[:-1]])
    return offsets + base[:, None], np.concatenate(flat) if flat else np.array([], dtype=np.int64)


def pick_active(index, market: np.ndarray, day: np.ndarray, u: np.ndarray) -> np.ndarray:
    offsets, flat = index
    day = np.clip(day, 0, offsets.shape[1] - 2)
    lo = offsets[market, day]
    cnt = offsets[market, day + 1] - lo
    pos = lo + np.floor(u * cnt).astype(np.int64)
    return np.where(cnt > 0, flat[np.minimum(pos, max(len(flat) - 1, 0))], -1)


def generate_products(cfg: Config, rng: np.random.Generator) -> dict:
    n_cat = len(PRODUCT_CATEGORIES)
    n = int(np.clip(cfg.contacts // 8, 150, 4000))
    pop = np.array([c[1] for c in PRODUCT_CATEGORIES], dtype=float)
    per_cat = np.maximum(8, np.floor(n * pop / pop.sum()).astype(int))
    cat = np.repeat(np.arange(n_cat), per_cat)
    n = len(cat)
    within, total = expand(per_cat)[1], per_cat[cat]
    evergreen = within < np.ceil(0.6 * total)  # the first 60% of each category predate the history
    launch = np.where(
        evergreen, rng.integers(-6 * 365, -30, n), rng.integers(0, cfg.end_day + 1, n)
    )
    tech_cat = np.array([c[3] for c in PRODUCT_CATEGORIES])[cat]
    launch_year = (np.datetime64(HISTORY_START.isoformat()) + launch).astype(
        "datetime64[Y]"
    ).astype(int) + 1970
    gen = np.where(tech_cat, np.clip((launch_year - 2017) // 2 + 1, 1, 5), -1)
    median = np.array([c[2] for c in PRODUCT_CATEGORIES])[cat]
    price = median * rng.lognormal(0.0, 0.6, n) * np.where(gen > 0, 1 + 0.12 * gen, 1.0)
    price = np.maximum(price, 1.0)
    price_cents = (np.floor(price) * 100 + 99).astype(np.int64)  # x.99 pricing
    # premium: the top 15% of each category by price, plus a few picked by brand
    rank = np.empty(n)
    for c in range(n_cat):
        idx = np.flatnonzero(cat == c)
        rank[idx] = np.argsort(np.argsort(price_cents[idx])) / max(len(idx) - 1, 1)
    premium = (rank >= 0.85) | (rng.random(n) < 0.03)
    cheap = rank <= 0.3
    margin = np.where(
        cat == [c[0] for c in PRODUCT_CATEGORIES].index("services"),
        rng.uniform(0.3, 0.5, n),
        rng.uniform(0.45, 0.75, n),
    )
    cost_cents = np.round(price_cents * np.where(premium, margin * 0.85, margin)).astype(np.int64)
    # products launched in the later drops (new catalogue rows in a daily drop)
    if cfg.drops > 1:
        recent = np.flatnonzero(~evergreen)
        late = rng.choice(recent, size=min(len(recent), 2 + n // 400), replace=False)
        launch[late] = rng.integers(cfg.first_drop_day + 1, cfg.end_day + 1, len(late))
    # record time: launch day (older products: their launch date), 09:00-17:00
    record_sec = launch * DAY + rng.integers(9 * 3600, 17 * 3600, n)
    # price changes: 6% at a random time after launch, a few in later drops
    upd = np.full(n, ABSENT, dtype=np.int64)
    chg = pick_rows(rng, n, 0.06, 2)
    lo = np.maximum(launch[chg], 0) + 30
    upd[chg] = np.where(
        lo < cfg.end_day,
        rng.integers(0, 1 << 30, len(chg)) % np.maximum(cfg.end_day - lo, 1) + lo,
        cfg.end_day,
    ) * DAY + rng.integers(8 * 3600, 18 * 3600, len(chg))
    if cfg.drops > 1:
        later = pick_rows(rng, n, 0.01, 2, eligible=(launch < cfg.first_drop_day) & (upd == ABSENT))
        upd[later] = (
            rng.integers(cfg.first_drop_day + 1, cfg.end_day + 1, len(later)) * DAY + 12 * 3600
        )
    upd = np.where(upd <= record_sec, ABSENT, upd)
    new_price = np.where(
        upd != ABSENT,
        (np.floor(price_cents / 100 * rng.uniform(0.85, 1.12, n)) * 100 + 99),
        price_cents,
    ).astype(np.int64)
    # names and labels (small table: a Python loop is fine here)
    names = []
    for i in range(n):
        canon = PRODUCT_CATEGORIES[cat[i]][0]
        noun = PRODUCT_NOUNS[canon][rng.integers(len(PRODUCT_NOUNS[canon]))]
        brand = BRANDS[rng.integers(len(BRANDS))]
        variant = (
            f"Gen {gen[i]}"
            if gen[i] > 0
            else ["Classic", "Eco", "Plus", "Mini", "XL", "Bio"][rng.integers(6)]
        )
        suffix = " Premium" if premium[i] else ""
        names.append(f"{brand} {noun} {variant}{suffix} {100 + i}")
    labels, label_idx = [], np.empty(n, dtype=np.int32)
    label_lookup: dict[str, int] = {}
    for i in range(n):
        canon = PRODUCT_CATEGORIES[cat[i]][0]
        base = PRODUCT_CATEGORY_LABELS[canon][rng.integers(len(PRODUCT_CATEGORY_LABELS[canon]))]
        style = rng.random()
        text = base.upper() if style < 0.06 else (f" {base} " if style < 0.1 else base)
        label_idx[i] = label_lookup.setdefault(text, len(label_lookup))
    labels = list(label_lookup)
    # order products by first appearance (ids grow with time)
    order = np.lexsort((np.arange(n), record_sec))
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    out = dict(
        cat=cat,
        launch=launch,
        gen=gen,
        premium=premium,
        cheap=cheap,
        price=price_cents,
        new_price=new_price,
        cost=cost_cents,
        record=record_sec,
        upd=upd,
        label=label_idx,
    )
    out = {k: v[order] for k, v in out.items()}
    out["name"] = [names[i] for i in order]
    out["labels"] = labels
    out["n"] = n
    return out


def product_pools(prod: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of products per (pool, category).

    Pools: 0 all, 1 premium, 2 newest technology, 3 cheapest, 4 launched before the history.
    """
    n_cat = len(PRODUCT_CATEGORIES)
    members = [
        np.ones(prod["n"], bool),
        prod["premium"],
        prod["gen"] >= 4,
        prod["cheap"],
        prod["launch"] <= 0,
    ]
    offsets = np.zeros((5, n_cat, 2), dtype=np.int64)
    flat, pos = [], 0
    for p, mask in enumerate(members):
        for c in range(n_cat):
            idx = np.flatnonzero(mask & (prod["cat"] == c))
            offsets[p, c] = (pos, len(idx))
            flat.append(idx)
            pos += len(idx)
    return offsets[..., 0], offsets[..., 1], np.concatenate(flat)


def _ticker():
    """Section timer, printed to stderr when CRM_GEN_PROFILE=1."""
    enabled = os.environ.get("CRM_GEN_PROFILE") == "1"
    last = [time.perf_counter()]

    def tick(label: str) -> None:
        if enabled:
            now = time.perf_counter()
            print(f"  [{now - last[0]:6.2f}s] before {label}", file=sys.stderr)
            last[0] = now

    return tick


def build(cfg: Config, sink, hidden: dict | None = None) -> None:
    """Generate every entity and hand it to ``sink`` (an :class:`EntityOut`) when ready.

    ``hidden``, when given, receives the hidden persona of each contact (for diagnostics;
    it is never written to the extract).
    """
    seed, n = cfg.seed, cfg.contacts
    tick = _ticker()
    E = cfg.end_day
    n_days = E + 1
    end_sec = cfg.end_sec
    first_end = (cfg.first_drop_day + 1) * DAY  # end of the first drop's day
    intensity = seasonal_intensity(n_days)
    cum_int = np.concatenate([[0.0], np.cumsum(intensity)])  # Lambda at day boundaries
    grid = np.arange(n_days + 1, dtype=float)
    day_dates = np.datetime64(HISTORY_START.isoformat()) + np.arange(n_days)
    month_of_day = (day_dates.astype("datetime64[M]").astype(int) % 12 + 1).astype(np.int8)
    year_of_day = (day_dates.astype("datetime64[Y]").astype(int) + 1970).astype(np.int64)

    def to_2031(sec: np.ndarray) -> np.ndarray:
        """The same moment, typed into year 2031 (a future-date defect)."""
        years = 2031 - year_of_day[np.clip(sec // DAY, 0, E)]
        return sec + np.round(years * 365.25).astype(np.int64) * DAY

    wid: dict[str, int] = {"K": 4}

    def ident(col: str, prefix: str, key: str) -> str:
        if key in ("P", "K"):  # small code lists: zero-padded codes
            return f"'{prefix}' || lpad(CAST({col} AS VARCHAR), {wid[key]}, '0')"
        return f"'{prefix}' || CAST({col} AS VARCHAR)"  # plain sequence numbers

    def money(col: str) -> str:
        return f"CAST({col} / 100.0 AS DECIMAL(18,2))"

    # ---------------- contacts: persona, geography, demographics ----------------
    tick("contacts")
    rng = stream(seed, "contacts")
    counts = np.floor(PT["share"] * n).astype(int)
    counts[P_INDEX["ordinary"]] += n - counts.sum()
    persona = rng.permutation(np.repeat(np.arange(len(PERSONA_NAMES)), counts)).astype(np.int8)
    kind = PT["kind"][persona]

    cw = np.array([c[6] for c in COUNTRIES])
    country = weighted_choice(rng, cw, n).astype(np.int8)
    internal = PT["internal"][persona].astype(bool)
    country = np.where(internal, np.where(rng.random(n) < 0.6, 0, 1), country).astype(np.int8)

    lo_spec = np.array([c[0] for c in PT["created"]])
    hi_spec = np.array([c[1] for c in PT["created"]])
    lo = np.where(lo_spec < 0, E + lo_spec, lo_spec)[persona]
    hi = np.where(hi_spec < 0, E + hi_spec, hi_spec)[persona]
    created_sec = ((lo + (hi - lo) * rng.random(n) ** 0.8) * DAY).astype(
        np.int64
    )  # growth: more recently

    # contact ids grow with time
    order = np.argsort(created_sec, kind="stable")
    persona, kind, country, internal, created_sec = (
        a[order] for a in (persona, kind, country, internal, created_sec)
    )
    created_day = created_sec / DAY
    if hidden is not None:
        hidden["persona"] = np.array(PERSONA_NAMES, dtype=object)[persona]
    code = np.array([c[0] for c in COUNTRIES])
    pl_mask = code[country] == "PL"
    lang = np.where(code[country] == "IT", 0, np.where(pl_mask, 1, 2)).astype(np.int8)  # it, pl, en
    market = lang  # campaign market: IT, PL, international

    account = PT["account"][persona].astype(np.int8)
    # some high-volume buyers are consumers, the rest businesses
    account = np.where(
        (persona == P_INDEX["high_volume"]) & (rng.random(n) < 0.6), 0, account
    ).astype(np.int8)
    is_business = account > 0

    # names
    groups = list(NAMES)
    group = np.array([groups.index(COUNTRIES[c][7]) for c in range(len(COUNTRIES))])[country]
    female = rng.random(n) < 0.5
    first_list, fn_off, fn_cnt = (
        [],
        np.zeros((len(groups), 2), int),
        np.zeros((len(groups), 2), int),
    )
    last_list, ln_off, ln_cnt = [], np.zeros(len(groups), int), np.zeros(len(groups), int)
    for g, key in enumerate(groups):
        fem, mal, sur = NAMES[key]
        for s, lst in enumerate((fem, mal)):
            fn_off[g, s], fn_cnt[g, s] = len(first_list), len(lst)
            first_list += lst
        ln_off[g], ln_cnt[g] = len(last_list), len(sur)
        last_list += [m for m, _ in sur] + [f for _, f in sur]
    first_ascii = [ascii_slug(x) for x in first_list]
    last_ascii = [ascii_slug(x) for x in last_list]
    polish_letters = set("łśżąęŁŚŻĄĘ")
    first_has_pl = np.array([bool(set(x) & polish_letters) for x in first_list])
    last_has_pl = np.array([bool(set(x) & polish_letters) for x in last_list])
    sex = np.where(female, 0, 1)
    first_idx = fn_off[group, sex] + np.floor(rng.random(n) * fn_cnt[group, sex]).astype(int)
    sur_pick = np.floor(rng.random(n) * ln_cnt[group]).astype(int)
    last_idx = ln_off[group] + sur_pick + np.where(female, ln_cnt[group], 0)

    gender_labels = ["female", "male", "other", "unknown", "F", "M"]
    gender = np.where(female, 0, 1)
    r = rng.random(n)
    gender = np.where(r < 0.05, gender + 4, gender)  # some source systems write F / M
    gender = np.where((r >= 0.05) & (r < 0.06), 2, gender)
    gender = np.where((r >= 0.06) & (r < 0.09), 3, gender)
    gender = np.where(((r >= 0.09) & (r < 0.14)) | is_business, -1, gender)

    age_mu = np.array([a[0] for a in PT["age"]])[persona]
    age = np.clip(rng.normal(age_mu, 14), 18, 85)
    birth_day = (created_day - age * 365.25).astype(np.int64)
    birth_day = np.where((rng.random(n) < 0.12) | is_business, ABSENT, birth_day)
    income = np.clip(
        np.round(rng.normal(2.0 + PT["income_shift"][persona].astype(float), 1.0)), 0, 4
    ).astype(int)
    income = np.where((rng.random(n) < 0.2) | is_business, -1, income)

    # places
    city_list, city_region, city_off, city_cnt, city_cum = [], [], [], [], []
    for c in COUNTRIES:
        items = CITIES[c[0]]
        city_off.append(len(city_list))
        city_cnt.append(len(items))
        city_list += [x[0] for x in items]
        city_region += [x[1] for x in items]
        w = np.array([x[2] for x in items], float)
        city_cum.append(np.cumsum(w / w.sum()))
    city_off, city_cnt = np.array(city_off), np.array(city_cnt)
    cum_mat = np.ones((len(COUNTRIES), max(city_cnt)))
    for i, cc in enumerate(city_cum):
        cum_mat[i, : len(cc)] = cc

    def pick_city(u):
        k = np.zeros(n, dtype=int)
        for j in range(cum_mat.shape[1] - 1):
            k += u >= cum_mat[country, j]
        return city_off[country] + np.minimum(k, city_cnt[country] - 1)

    city = pick_city(rng.random(n))
    region_list = sorted(set(city_region))
    region_of_city = np.array([region_list.index(x) for x in city_region])

    street_list, street_off, street_cnt = [], [], []
    for key in groups:
        street_off.append(len(street_list))
        street_cnt.append(len(STREETS[key]))
        street_list += STREETS[key]
    street_off, street_cnt = np.array(street_off), np.array(street_cnt)
    street = street_off[group] + np.floor(rng.random(n) * street_cnt[group]).astype(int)
    house = rng.integers(1, 180, n)
    flat_no = np.where(pl_mask & (rng.random(n) < 0.6), rng.integers(1, 60, n), -1)
    street = np.where(rng.random(n) < 0.08, -1, street)

    dom_list, dom_off, dom_cnt = [], [], []
    for key in groups:
        dom_off.append(len(dom_list))
        dom_cnt.append(len(EMAIL_DOMAINS[key]))
        dom_list += EMAIL_DOMAINS[key]
    dom_off, dom_cnt = np.array(dom_off), np.array(dom_cnt)
    email_dom = dom_off[group] + np.floor(rng.random(n) * dom_cnt[group]).astype(int)
    email_num = np.where(rng.random(n) < 0.7, rng.integers(1, 999, n), -1)
    email_sep = rng.integers(0, 3, n).astype(np.int8)  # '.', '_', ''
    email_missing = rng.random(n) < 0.04
    phone_num = rng.integers(10**7, 10**8, n)
    phone_missing = rng.random(n) < 0.15

    # companies and industries
    word_lists = COMPANY_WORDS["it"] + COMPANY_WORDS["pl"] + COMPANY_WORDS["other"]
    w_off = np.array(
        [0, len(COMPANY_WORDS["it"]), len(COMPANY_WORDS["it"]) + len(COMPANY_WORDS["pl"])]
    )
    w_cnt = np.array(
        [len(COMPANY_WORDS["it"]), len(COMPANY_WORDS["pl"]), len(COMPANY_WORDS["other"])]
    )
    company_word = w_off[lang] + np.floor(rng.random(n) * w_cnt[lang]).astype(int)
    company_sur = ln_off[group] + np.floor(rng.random(n) * ln_cnt[group]).astype(int)
    industry = np.where(is_business, weighted_choice(rng, [w for _, w in INDUSTRIES], n), -1)

    # reference customers: established businesses and some long-standing promoters / accounts
    ref_p = (
        np.where(is_business, 0.3, 0.0)
        + np.isin(persona, [P_INDEX["promoter"], P_INDEX["regular_account"]]) * 0.08
    )
    reference = rng.random(n) < ref_p * (created_day < E - 365)

    # ---------------- campaigns and acquisition ----------------
    tick("campaigns and acquisition")
    camp = generate_campaigns(cfg, stream(seed, "campaigns"))
    camp_index = active_campaign_index(camp, n_days)
    acq_ok = np.ones(len(ACQ_CHANNELS), bool)
    acq_ok[ACQ_CHANNELS.index("referral")] = False
    acq_index = active_campaign_index(camp, n_days, acq_ok)

    rng = stream(seed, "acquisition")
    acq_channel = weighted_choice(
        rng, [0.45, 0, 0.12, 0, 0, 0, 0, 0.43, 0], n
    )  # organic, social, direct
    acq_campaign = np.full(n, -1)
    via_campaign = rng.random(n) < np.where(is_business, 0.7, 0.55)
    pick = pick_active(acq_index, market, created_day.astype(int), rng.random(n))
    use = via_campaign & (pick >= 0)
    acq_campaign[use] = pick[use]
    acq_channel = np.where(use, camp["channel"][np.maximum(acq_campaign, 0)], acq_channel)

    # referrals: promoters (and some accounts / reference customers) bring in new contacts
    rng = stream(seed, "referrals")
    weight = (
        np.where(persona == P_INDEX["promoter"], 4, 0)
        + np.where((persona == P_INDEX["regular_account"]) | reference, 1, 0)
        + np.where((kind != "prospect") & (rng.random(n) < 0.03), 1, 0)
    )
    pool = np.repeat(np.arange(n), weight)  # contacts are sorted by creation
    pool_created = created_sec[pool]
    referred_p = np.where(kind != "prospect", 0.075, 0.03) * (created_day > 30)
    referred = (rng.random(n) < referred_p) & (persona != P_INDEX["internal"])
    cnt = np.searchsorted(pool_created, created_sec - 7 * DAY, side="left")
    referred &= cnt > 0
    ref_id = np.flatnonzero(referred)
    referrer = pool[np.floor(rng.random(len(ref_id)) * cnt[ref_id]).astype(np.int64)]
    referred_at = np.maximum(
        created_sec[ref_id] - (rng.random(len(ref_id)) * 10 * DAY).astype(np.int64),
        created_sec[referrer] + DAY,
    )
    referred_at = np.minimum(referred_at, created_sec[ref_id])
    acq_channel[ref_id] = ACQ_CHANNELS.index("referral")
    acq_campaign[ref_id] = -1

    # ---- contacts out: versions = created, updated (moved and/or new e-mail) ----
    tick("contacts out")
    drng = stream(seed, "defects-contacts")
    upd_sec = np.full(n, ABSENT, dtype=np.int64)
    perm = drng.permutation(n)
    n_hist = int(0.03 * n)
    hist = perm[:n_hist]
    lo = created_sec[hist] + 30 * DAY
    upd_sec[hist] = np.where(
        lo < end_sec,
        lo + (drng.random(n_hist) * np.maximum(end_sec - lo, 1)).astype(np.int64),
        ABSENT,
    )
    if cfg.drops > 1:
        eligible = created_sec < first_end - DAY
        later = perm[n_hist:]
        later = later[eligible[later]][: max(4, n // 400)]
        upd_sec[later] = (
            cfg.first_drop_day + drng.integers(1, cfg.drops, len(later))
        ) * DAY + drng.integers(8 * 3600, 20 * 3600, len(later))
        if cfg.drops >= 3:
            # Polish contacts updated on the day of the Windows-1250 drop
            polish = (
                eligible
                & pl_mask
                & (first_has_pl[first_idx] | last_has_pl[last_idx])
                & (upd_sec == ABSENT)
            )
            forced = pick_rows(drng, n, 0.002, 6, eligible=polish)
            upd_sec[forced] = (cfg.first_drop_day + 1) * DAY + drng.integers(
                8 * 3600, 20 * 3600, len(forced)
            )
    upd_kind = drng.integers(0, 3, n)  # 0 moved, 1 new e-mail, 2 both
    city2 = pick_city(drng.random(n))
    city2 = np.where(
        city2 == city, city_off[country] + (city - city_off[country] + 1) % city_cnt[country], city2
    )
    dom2 = dom_off[group] + (email_dom - dom_off[group] + 1) % dom_cnt[group]
    house2 = drng.integers(1, 180, n)
    c_def = np.zeros(n, np.int8)
    c_def[pick_rows(drng, n, 0.008, 3)] = 1  # untidy e-mail (case, spaces)
    bd = pick_rows(drng, n, 0.005, 2, eligible=(birth_day != ABSENT) & (c_def == 0))
    c_def[bd] = np.where(drng.random(len(bd)) < 0.5, 2, 3)  # birth_date '31/02/1985' / 'n/a'
    # country as written: an ISO code (mostly upper case), sometimes a name
    nc = len(COUNTRIES)
    country_out_list = [c[0] for c in COUNTRIES] + [c[0].lower() for c in COUNTRIES]
    for c in COUNTRIES:
        country_out_list += [c[1], c[2], c[3], c[4]]
    country_out = country.astype(np.int64)
    country_out = np.where(drng.random(n) < 0.03, country + nc, country_out)
    names_pick = pick_rows(drng, n, 0.012, 4)
    country_out[names_pick] = (
        2 * nc + country[names_pick] * 4 + drng.integers(0, 4, len(names_pick))
    )
    tld = np.array([c[0].lower() if c[0] not in ("GB", "US") else "com" for c in COUNTRIES])

    row, evn, drop = emit_versions(np.stack([created_sec, upd_sec], axis=1), cfg)
    row, evn, drop = with_resends(row, evn, drop, 0.005, cfg, drng)
    v2 = evn == 1
    moved = v2 & (upd_kind[row] != 1)
    remail = v2 & (upd_kind[row] != 0)
    c_city = np.where(moved, city2[row], city[row])
    biz = is_business[row]
    tbl = pa.table(
        {
            "id": row + 1,
            "first": dict_col(first_idx[row], first_list),
            "last": dict_col(last_idx[row], last_list),
            "fa": dict_col(first_idx[row], first_ascii),
            "la": dict_col(last_idx[row], last_ascii),
            "dom": dict_col(np.where(remail, dom2[row], email_dom[row]), dom_list),
            "enum": pa.array(email_num[row], mask=email_num[row] < 0),
            "esep": email_sep[row],
            "emiss": email_missing[row],
            "phone_pre": dict_col(country[row], [PHONE_PREFIX[c[0]] for c in COUNTRIES]),
            "phone": pa.array(phone_num[row], mask=phone_missing[row]),
            "street": dict_col(street[row], street_list),
            "house": np.where(moved, house2[row], house[row]),
            "flat": pa.array(flat_no[row], mask=flat_no[row] < 0),
            "csur": dict_col(np.where(biz, company_sur[row], -1), last_list),
            "cword": dict_col(company_word[row], word_lists),
            "csa": dict_col(np.where(biz, company_sur[row], -1), last_ascii),
            "cwa": dict_col(company_word[row], [ascii_slug(w) for w in word_lists]),
            "tld": dict_col(country[row], list(tld)),
            "legal": dict_col(country[row], [LEGAL_SUFFIX[c[0]] for c in COUNTRIES]),
            "industry": dict_col(industry[row], [x for x, _ in INDUSTRIES]),
            "acct": dict_col(account[row], ["consumer", "business", "purchasing_agent"]),
            "internal": internal[row],
            "reference": reference[row],
            "birth": to_date(birth_day[row]),
            "gender": dict_col(gender[row], gender_labels),
            "income": dict_col(income[row], INCOME_BANDS),
            "country": dict_col(country_out[row], country_out_list),
            "region": dict_col(region_of_city[c_city], region_list),
            "city": dict_col(c_city, city_list),
            "acq": dict_col(acq_channel[row], ACQ_CHANNELS),
            "camp": pa.array(acq_campaign[row] + 1, mask=acq_campaign[row] < 0),
            "created": to_ts(created_sec[row]),
            "updated": to_ts(np.where(v2, upd_sec[row], created_sec[row])),
            "defect": c_def[row],
        }
    )
    local = (
        "CASE WHEN acct <> 'consumer' AND NOT internal THEN fa || '.' || la "
        "ELSE fa || CASE esep WHEN 0 THEN '.' WHEN 1 THEN '_' ELSE '' END || la "
        "|| coalesce(CAST(enum AS VARCHAR), '') END"
    )
    domain = (
        f"CASE WHEN internal THEN '{INTERNAL_DOMAIN}' "
        "WHEN acct <> 'consumer' THEN csa || '-' || cwa || '.' || tld ELSE dom END"
    )
    email = f"{local} || '@' || {domain}"
    sink(
        EntityOut(
            "contacts",
            tbl,
            drop,
            {
                "contact_id": ident("id", "C", "C"),
                "first_name": "first",
                "last_name": "last",
                "email": f"CASE WHEN emiss THEN NULL ELSE {email} END",
                "phone": "phone_pre || CAST(phone AS VARCHAR)",
                "street_address": (
                    "street || ' ' || CAST(house AS VARCHAR) "
                    "|| coalesce('/' || CAST(flat AS VARCHAR), '')"
                ),
                "company_name": "csur || ' ' || cword || ' ' || legal",
                "industry": "industry",
                "account_type": "acct",
                "is_internal": "internal",
                "is_reference_customer": "reference",
                "birth_date": "birth",
                "gender": "gender",
                "income_band": "income",
                "country": "country",
                "region": "region",
                "city": "city",
                "acquisition_channel": "acq",
                "acquisition_campaign_id": ident("camp", "CMP", "K"),
                "created_at": "created",
                "updated_at": "updated",
            },
            defect_columns={
                "email": (  # '  Mario.rossi12@GMAIL.COM '
                    f"CASE WHEN emiss THEN NULL WHEN defect <> 1 THEN {email} "
                    f"ELSE '  ' || upper(left({email}, 1)) "
                    f"|| substr({email}, 2, strpos({email}, '@') - 1) "
                    f"|| upper(substr({email}, strpos({email}, '@') + 1)) || ' ' END"
                ),
                "birth_date": (
                    "CASE defect WHEN 2 THEN '31/02/' || CAST(year(birth) AS VARCHAR) "
                    "WHEN 3 THEN 'n/a' ELSE CAST(birth AS VARCHAR) END"
                ),
            },
        )
    )

    # ---- campaigns out: versions = launched with budget, closed with final cost ----
    k_times = np.stack(
        [camp["start"] * DAY + 8 * 3600, (camp["end"] + 3) * DAY + 10 * 3600], axis=1
    )
    row, evn, drop = emit_versions(k_times, cfg)
    v2 = evn == 1
    sink(
        EntityOut(
            "campaigns",
            pa.table(
                {
                    "id": row + 1,
                    "name": dict_col(row, camp["name"]),
                    "channel": dict_col(camp["channel"][row], ACQ_CHANNELS),
                    "start": to_date(camp["start"][row]),
                    "end": to_date(camp["end"][row]),
                    "cost": np.where(v2, camp["final"][row], camp["budget"][row]),
                    "cur": dict_col(camp["pln"][row].astype(int), ["EUR", "PLN"]),
                    "updated": to_ts(k_times[row, evn]),
                }
            ),
            drop,
            {
                "campaign_id": ident("id", "CMP", "K"),
                "campaign_name": "name",
                "channel": "channel",
                "started_on": "start",
                "ended_on": '"end"',
                "cost": money("cost"),
                "currency": "cur",
                "updated_at": "updated",
            },
        )
    )

    # ---- referrals out ----
    ro = np.argsort(referred_at, kind="stable")
    r_from, r_to, r_sec = referrer[ro], ref_id[ro], referred_at[ro]
    row, evn, drop = emit_versions(r_sec, cfg)
    sink(
        EntityOut(
            "referrals",
            pa.table(
                {
                    "id": row + 1,
                    "src": r_from[row] + 1,
                    "dst": r_to[row] + 1,
                    "ref_at": to_ts(r_sec[row]),
                }
            ),
            drop,
            {
                "referral_id": ident("id", "R", "R"),
                "referrer_contact_id": ident("src", "C", "C"),
                "referred_contact_id": ident("dst", "C", "C"),
                "referred_at": "ref_at",
                "updated_at": "ref_at",
            },
        )
    )
    del tbl

    # ---------------- products and order lines ----------------
    tick("products and order lines")
    prod = generate_products(cfg, stream(seed, "products"))
    pool_off, pool_cnt, pool_flat = product_pools(prod)
    rng = stream(seed, "lines")
    n_cat = len(PRODUCT_CATEGORIES)
    # each contact's category preferences: weighted sample without replacement (Gumbel top-k)
    pop = np.array([c[1] for c in PRODUCT_CATEGORIES], float)
    keys = np.log(rng.random((n, n_cat))) / pop
    slots = np.argsort(-keys, axis=1).astype(np.int8)
    del keys
    svc = [c[0] for c in PRODUCT_CATEGORIES].index("services")
    elec = [c[0] for c in PRODUCT_CATEGORIES].index("electronics")
    slots[(persona == P_INDEX["cost_oriented"]) & (rng.random(n) < 0.6), 0] = svc
    slots[persona == P_INDEX["premium_tech"], 0] = elec
    b_lo = np.array([b[0] for b in PT["breadth"]])[persona]
    b_hi = np.array([b[1] for b in PT["breadth"]])[persona]
    breadth = np.floor(b_lo + (b_hi - b_lo + 1) * rng.random(n)).astype(np.int64)

    # ---- products out: versions = record, price change ----
    tick("products out")
    drng = stream(seed, "defects-products")
    wid["P"] = max(5, len(str(prod["n"] + 1000)))
    row, evn, drop = emit_versions(np.stack([prod["record"], prod["upd"]], axis=1), cfg)
    v2 = evn == 1
    sink(
        EntityOut(
            "products",
            pa.table(
                {
                    "id": row + 1,
                    "name": dict_col(row, prod["name"]),
                    "label": dict_col(prod["label"][row], prod["labels"]),
                    "price": np.where(v2, prod["new_price"][row], prod["price"][row]),
                    "cost": prod["cost"][row],
                    "premium": prod["premium"][row],
                    "gen": pa.array(prod["gen"][row], mask=prod["gen"][row] < 0),
                    "launch": to_date(prod["launch"][row]),
                    "updated": to_ts(np.where(v2, prod["upd"][row], prod["record"][row])),
                }
            ),
            drop,
            {
                "product_id": ident("id", "P", "P"),
                "product_name": "name",
                "category": "label",
                "list_price": money("price"),
                "unit_cost": money("cost"),
                "is_premium": "premium",
                "technology_generation": "gen",
                "launch_date": "launch",
                "updated_at": "updated",
            },
        )
    )

    # ============ orders and everything that follows them, per chunk of contacts ============
    # Chunks keep arrays small (reused heap memory, cache friendly); ids continue across chunks
    # and each chunk appends its rows to the drop files.
    first_order_sec = np.full(n, ABSENT, dtype=np.int64)
    id_off = {key: 0 for key in ("O", "L", "I", "Y", "T", "N", "M")}

    def chunk_facts(chunk: int, c0: int, c1: int) -> None:
        # ---------------- purchase timelines (segments) ----------------
        rng = stream(seed, f"orders/{chunk}")
        m = c1 - c0
        p_loc, k_loc = persona[c0:c1], kind[c0:c1]
        delay = np.minimum(rng.exponential(PT["first_delay"][p_loc].astype(float)), 60.0)
        t1 = created_day[c0:c1] + 0.02 + delay
        gap_lo = PT["gap"][:, 0].astype(float)[p_loc]
        gap_hi = PT["gap"][:, 1].astype(float)[p_loc]
        gap = gap_lo + (gap_hi - gap_lo) * rng.random(m)
        shape = PT["shape"][p_loc].astype(float)
        p_drop = PT["p_drop"][p_loc].astype(float)
        warp = PT["seasonal"][p_loc].astype(bool)
        n_life = np.where(p_drop > 0, rng.geometric(np.maximum(p_drop, 1e-9)), 10_000)
        stop = np.full(m, E + 1.0)
        buys = k_loc != "prospect"
        buys &= ~((k_loc == "wanderer") & (rng.random(m) >= 0.3))
        n_life = np.where((k_loc == "one_time") | (k_loc == "wanderer"), 1, n_life)
        t1 = np.where(k_loc == "one_time", np.minimum(t1, E - 120.0), t1)
        rec = k_loc == "recent_first"
        t1 = np.where(rec, np.clip(t1, E - 85.0, E + 0.5), t1)
        n_life = np.where(rec, weighted_choice(rng, [0.6, 0.3, 0.1], m) + 1, n_life)
        gap = np.where(rec, rng.uniform(7, 30, m), gap)
        stop = np.where(
            k_loc == "lapsed", np.maximum(t1 + 60.0, E - rng.uniform(400, 800, m)), stop
        )
        stop = np.where(
            k_loc == "silent", np.maximum(t1 + 90.0, E - rng.uniform(150, 400, m)), stop
        )
        regained = k_loc == "regained"
        stop = np.where(regained, t1 + rng.uniform(150, 400, m), stop)
        t1 = np.minimum(t1, E + 0.9)

        loc = np.flatnonzero(buys)
        seg_contact = c0 + loc
        seg_start, seg_stop = t1[loc], stop[loc]
        seg_gap, seg_shape = gap[loc], shape[loc]
        seg_life, seg_warp = n_life[loc], warp[loc]
        rg = np.flatnonzero(regained & buys)
        if len(rg):  # second life after a long silence
            seg_contact = np.concatenate([seg_contact, c0 + rg])
            seg_start = np.concatenate([seg_start, E - rng.uniform(5, 75, len(rg))])
            seg_stop = np.concatenate([seg_stop, np.full(len(rg), E + 1.0)])
            seg_gap = np.concatenate([seg_gap, rng.uniform(10, 25, len(rg))])
            seg_shape = np.concatenate([seg_shape, np.full(len(rg), 3.0)])
            seg_life = np.concatenate([seg_life, rng.integers(1, 4, len(rg))])
            seg_warp = np.concatenate([seg_warp, np.zeros(len(rg), bool)])
            so = np.argsort(seg_contact, kind="stable")  # contact-major, first life first
            seg_contact, seg_start, seg_stop, seg_gap, seg_shape, seg_life, seg_warp = (
                a[so]
                for a in (seg_contact, seg_start, seg_stop, seg_gap, seg_shape, seg_life, seg_warp)
            )

        def tau(t):
            return np.interp(t, grid, cum_int)

        def untau(x):
            return np.interp(x, cum_int, grid)

        seg_stop = np.minimum(seg_stop, E + 1.0)
        s_start = np.where(seg_warp, tau(seg_start), seg_start)
        s_stop = np.where(seg_warp, tau(seg_stop), seg_stop)
        span = np.maximum(s_stop - s_start, 0)
        expected = span / seg_gap  # enough candidates for the renewal process to pass the stop
        n_cand = np.ceil(expected * 1.1 + 3 * np.sqrt(expected / seg_shape) + 2)
        n_cand = np.minimum(np.minimum(seg_life, n_cand), 400).astype(np.int64)
        seg_of, j = expand(n_cand)
        # lognormal gaps with the coefficient of variation of a gamma of that shape (1/sqrt(shape))
        sig = np.sqrt(np.log1p(1.0 / seg_shape))
        mu = np.log(seg_gap) - sig * sig / 2
        gaps = np.exp(rng.standard_normal(len(seg_of)) * sig[seg_of] + mu[seg_of])
        gaps[j == 0] = 0.0
        cs = np.cumsum(gaps)
        seg_first = np.cumsum(n_cand) - n_cand
        cs -= np.repeat(cs[seg_first], n_cand)
        t_tau = s_start[seg_of] + cs
        keep = t_tau < s_stop[seg_of]
        seg_of, t_tau = seg_of[keep], t_tau[keep]
        t_day = np.where(seg_warp[seg_of], untau(t_tau), t_tau)
        del gaps, cs, j, keep
        o_contact = seg_contact[seg_of]
        hours = [0.4, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 2, 3, 4, 4.5]
        hours += [5, 5, 4.5, 4.2, 4.2, 4.5, 5, 5.5, 6, 5.5, 3.5, 1.5]
        biz_hours = [0] * 8 + [1] * 10 + [0] * 6
        n_o = len(t_day)
        is_biz = np.minimum(account[o_contact], 1)
        hour = group_choice(is_biz, [hours, biz_hours], rng.random(n_o)).astype(np.int64)
        o_sec = (
            np.floor(t_day).astype(np.int64) * DAY
            + hour * 3600
            + (rng.random(n_o) * 3600).astype(np.int64)
        )
        o_sec = np.maximum(o_sec, created_sec[o_contact] + 300)
        valid = o_sec < end_sec
        o_contact, o_sec = o_contact[valid], o_sec[valid]
        # first order of each contact (orders are still grouped by contact here)
        if len(o_sec):
            starts = np.flatnonzero(np.r_[True, o_contact[1:] != o_contact[:-1]])
            first_order_sec[o_contact[starts]] = np.minimum.reduceat(o_sec, starts)
        # order ids grow with time (by day; radix sort on the day)
        oo = np.argsort((o_sec // DAY).astype(np.int16), kind="stable")
        o_contact, o_sec = o_contact[oo], o_sec[oo]
        del oo, t_day, seg_of, hour, valid
        o_persona = persona[o_contact]
        n_ord = len(o_sec)
        month = month_of_day[o_sec // DAY]

        o_acct = account[o_contact]
        o_channel = group_choice(o_persona, PT["chan_w"], rng.random(n_ord))
        promo_p = PT["promo"][o_persona].astype(float) * np.where(month == 11, 1.6, 1.0)
        has_promo = rng.random(n_ord) < np.minimum(promo_p, 0.97)
        code_u = rng.random(n_ord)
        seasonal_code = np.select(
            [month == 11, month == 12, month == 1, month == 7], [6, 7, 4, 5], -1
        )
        generic = np.where(
            lang[o_contact] == 1, np.where(code_u < 0.5, 2, 3), np.where(code_u < 0.5, 1, 3)
        )
        promo_code = np.where((code_u < 0.6) & (seasonal_code >= 0), seasonal_code, generic)
        promo_code = np.where((o_sec == first_order_sec[o_contact]) & (code_u > 0.8), 0, promo_code)
        promo_code = np.where(has_promo, promo_code, -1).astype(np.int8)
        promo_share = np.array([c[1] for c in PROMO_CODES])
        del seasonal_code, generic, has_promo, promo_p

        gift_p = (
            PT["gift"][o_persona].astype(float) * np.where(month == 12, 2.0, 1.0) * (o_acct == 0)
        )
        is_gift = rng.random(n_ord) < np.minimum(gift_p, 0.9)
        consumer = np.where(o_acct == 0, o_contact, -1)
        # the recipient of a gift: another contact already known when the order is placed
        gi = np.flatnonzero(is_gift)
        known = np.searchsorted(created_sec, o_sec[gi], side="left")
        other = np.floor(rng.random(len(gi)) * known).astype(np.int64)
        other = np.where(other == o_contact[gi], (other + 1) % np.maximum(known, 1), other)
        ok = (known > 1) & (other != o_contact[gi])
        is_gift[gi[~ok]] = False
        voucher = rng.random(int(ok.sum())) < 0.05  # a voucher: the recipient is unknown
        consumer[gi[ok]] = np.where(voucher, -1, other[ok])
        del gift_p, known, other, gi, ok, voucher

        u = rng.random(n_ord)
        cancel_p = PT["cancel"][o_persona].astype(float)
        ret_p = PT["ret"][o_persona].astype(float)
        final = np.where(u < cancel_p, 2, np.where(u < cancel_p + ret_p, 3, 1)).astype(np.int8)
        del u, cancel_p, ret_p
        prepaid = np.isin(o_channel, [0, 3]) & (o_acct == 0)
        ship = o_sec + (rng.uniform(0.3, 2.5, n_ord) * DAY).astype(np.int64)
        deliver = ship + (rng.uniform(0.8, 4.0, n_ord) * DAY).astype(np.int64)
        ev = np.empty((n_ord, 4), dtype=np.int64)
        ev[:, 0] = o_sec
        ev[:, 1] = np.where(
            final == 2, o_sec + (rng.uniform(0.05, 1.5, n_ord) * DAY).astype(np.int64), ship
        )
        ev[:, 2] = np.where(final == 2, ABSENT, deliver)
        ev[:, 3] = np.where(
            final == 3, deliver + (rng.uniform(2, 25, n_ord) * DAY).astype(np.int64), ABSENT
        )
        currency = pl_mask[o_contact].astype(np.int8)  # 0 EUR, 1 PLN

        rng = stream(seed, f"lines/{chunk}")
        single = rng.random(n_ord) < PT["single"][o_persona].astype(float)
        n_lines = np.where(single, 1, 1 + rng.poisson(PT["lines"][o_persona].astype(float)))
        n_lines = np.minimum(n_lines, 12)
        l_order, l_pos = expand(n_lines)
        n_ln = len(l_order)
        l_contact = o_contact[l_order]
        l_persona = persona[l_contact]
        # spread the lines of one order over different preferred categories
        slot = (np.floor(rng.random(n_ln) * breadth[l_contact]).astype(np.int64) + l_pos) % breadth[
            l_contact
        ]
        l_cat = slots[l_contact, slot].astype(np.int64)
        del slot, l_pos
        # product pool: 0 any, 1 premium, 2 newest technology, 3 cheapest
        pool_w = np.column_stack(
            [1.0 - PT["pools"].astype(float).sum(axis=1), PT["pools"].astype(float)]
        )
        l_pool = group_choice(l_persona, pool_w, rng.random(n_ln)).astype(np.int64)
        # newest technology: mostly electronics, also other categories with generations
        tech_cats = np.flatnonzero(pool_cnt[2] > 0)
        is_tech = l_pool == 2
        l_cat[is_tech] = np.where(
            rng.random(int(is_tech.sum())) < 0.7,
            elec,
            tech_cats[rng.integers(0, len(tech_cats), int(is_tech.sum()))],
        )
        l_pool = np.where(pool_cnt[l_pool, l_cat] > 0, l_pool, 0)
        cnt = pool_cnt[l_pool, l_cat]
        l_prod = pool_flat[
            pool_off[l_pool, l_cat] + np.floor(cnt * rng.random(n_ln) ** 1.6).astype(np.int64)
        ]
        l_sec = o_sec[l_order]
        too_new = np.flatnonzero(prod["launch"][l_prod] > (l_sec // DAY))
        ev_cnt = pool_cnt[4, l_cat[too_new]]
        l_prod[too_new] = pool_flat[
            pool_off[4, l_cat[too_new]]
            + np.floor(ev_cnt * rng.random(len(too_new)) ** 1.6).astype(np.int64)
        ]
        del l_pool, cnt, too_new, l_cat
        # one line per product and order: drop later lines repeating a product of the same order
        dup = np.zeros(n_ln, bool)
        for k in range(1, int(n_lines.max(initial=1))):
            dup[k:] |= (l_order[k:] == l_order[:-k]) & (l_prod[k:] == l_prod[:-k])
        if dup.any():
            keep = ~dup
            l_order, l_contact, l_persona, l_prod, l_sec = (
                a[keep] for a in (l_order, l_contact, l_persona, l_prod, l_sec)
            )
        del dup
        n_ln = len(l_order)
        qmu = PT["qty"][:, 0].astype(float)[l_persona]
        qsig = PT["qty"][:, 1].astype(float)[l_persona]
        qty = np.minimum(
            np.maximum(1, np.round(np.exp(qmu + qsig * rng.standard_normal(n_ln)))), 2000
        ).astype(np.int64)
        del qmu, qsig
        upd_p = prod["upd"][l_prod]
        price_eur = np.where(
            (upd_p != ABSENT) & (l_sec >= upd_p), prod["new_price"][l_prod], prod["price"][l_prod]
        )
        del upd_p
        l_cur = currency[l_order]
        unit = np.where(
            l_cur == 1,
            np.round(price_eur * PLN_PER_EUR / 100).astype(np.int64) * 100 - 1,
            price_eur,
        )
        unit = np.maximum(unit, 1)
        del price_eur, l_cur
        gross = unit * qty
        l_code = promo_code[l_order]
        disc_share = np.where(l_code >= 0, promo_share[np.maximum(l_code, 0)], 0.0)
        extra = rng.random(n_ln) < PT["line_disc"][l_persona].astype(float)
        extra_share = np.where(
            internal[l_contact],
            0.30,
            np.where(account[l_contact] > 0, 0.05, np.where(rng.random(n_ln) < 0.5, 0.05, 0.1)),
        )
        disc_share = np.where(extra, np.maximum(disc_share, extra_share), disc_share)
        discount = np.round(gross * disc_share).astype(np.int64)
        del extra, extra_share, disc_share, l_code
        net = gross - discount
        order_amount = np.bincount(l_order, weights=net, minlength=n_ord).astype(np.int64)
        del net, gross

        # ---- orders out: versions = placed/paid, shipped or cancelled, delivered, returned ----
        tick("orders out")
        drng = stream(seed, f"defects-orders/{chunk}")
        o_def = np.zeros(n_ord, np.int8)
        hist_rows = o_sec < first_end
        o_def[pick_rows(drng, n_ord, 0.004, 3, eligible=hist_rows)] = 1  # ordered_at '31/02/2025'
        o_def[pick_rows(drng, n_ord, 0.003, 2, eligible=hist_rows & (o_def == 0))] = 2  # 'n/a'
        future = pick_rows(drng, n_ord, 0.004, 3, eligible=o_def == 0)  # typed into 2031
        orphan = pick_rows(drng, n_ord, 0.005, 3, eligible=o_def == 0)
        out_contact = o_contact + 1
        out_contact[orphan] = n + 1 + drng.integers(0, 9000, len(orphan))
        out_ordered = o_sec.copy()
        out_ordered[future] = to_2031(o_sec[future])
        row, evn, drop = emit_versions(ev, cfg)
        row, evn, drop = with_resends(row, evn, drop, 0.005, cfg, drng)
        status = np.select(
            [evn == 0, evn == 1, evn == 2],
            [np.where(prepaid[row], 1, 0), np.where(final[row] == 2, 4, 2), 3],
            5,
        )
        cons = consumer[row]
        sink(
            EntityOut(
                "orders",
                pa.table(
                    {
                        "id": row + id_off["O"] + 1,
                        "contact": out_contact[row],
                        "consumer": pa.array(cons + 1, mask=cons < 0),
                        "gift": is_gift[row],
                        "ordered": to_ts(out_ordered[row]),
                        "channel": dict_col(o_channel[row], ORDER_CHANNELS),
                        "status": dict_col(
                            status,
                            ["placed", "paid", "shipped", "delivered", "cancelled", "returned"],
                        ),
                        "promo": dict_col(promo_code[row], [c[0] for c in PROMO_CODES]),
                        "cur": dict_col(currency[row], ["EUR", "PLN"]),
                        "updated": to_ts(ev[row, evn]),
                        "defect": o_def[row],
                    }
                ),
                drop,
                {
                    "order_id": ident("id", "O", "O"),
                    "contact_id": ident("contact", "C", "C"),
                    "consumer_contact_id": ident("consumer", "C", "C"),
                    "is_gift": "gift",
                    "ordered_at": "ordered",
                    "channel": "channel",
                    "status": "status",
                    "promo_code": "promo",
                    "currency": "cur",
                    "updated_at": "updated",
                },
                defect_columns={
                    "ordered_at": (
                        "CASE defect WHEN 1 THEN '31/02/' || CAST(year(ordered) AS VARCHAR) "
                        "ELSE 'n/a' END"
                    ),
                },
            )
        )
        del row, evn, drop, status, cons, out_contact, out_ordered, o_def, hist_rows

        # ---- order lines out ----
        tick("order lines out")
        drng = stream(seed, f"defects-lines/{chunk}")
        neg = pick_rows(drng, n_ln, 0.004, 3)
        out_unit = unit.copy()
        out_unit[neg] = -unit[neg]
        l_orph = pick_rows(drng, n_ln, 0.004, 3)
        out_prod = l_prod + 1
        out_prod[l_orph] = prod["n"] + 1 + drng.integers(0, 900, len(l_orph))
        blank_disc = drng.random(n_ln) < 0.7  # no discount: mostly empty, sometimes 0.00
        row, evn, drop = emit_versions(l_sec, cfg)
        row, evn, drop = with_resends(row, evn, drop, 0.004, cfg, drng)
        disc = discount[row]
        sink(
            EntityOut(
                "order_lines",
                pa.table(
                    {
                        "id": row + id_off["L"] + 1,
                        "ord": l_order[row] + id_off["O"] + 1,
                        "product": out_prod[row],
                        "qty": qty[row],
                        "unit": out_unit[row],
                        "disc": pa.array(disc, mask=(disc == 0) & blank_disc[row]),
                        "updated": to_ts(l_sec[row]),
                    }
                ),
                drop,
                {
                    "order_line_id": ident("id", "L", "L"),
                    "order_id": ident("ord", "O", "O"),
                    "product_id": ident("product", "P", "P"),
                    "quantity": "qty",
                    "unit_price": money("unit"),
                    "discount_amount": money("disc"),
                    "updated_at": "updated",
                },
            )
        )
        del (
            row,
            evn,
            drop,
            disc,
            out_unit,
            out_prod,
            l_order,
            l_contact,
            l_persona,
            l_prod,
            l_sec,
            qty,
            unit,
            discount,
        )

        # ---------------- invoices and payments ----------------
        tick("invoices and payments")
        rng = stream(seed, f"invoices/{chunk}")
        i_order = np.flatnonzero((final != 2) & (ship < end_sec))
        i_order = i_order[
            np.argsort((ship[i_order] // DAY).astype(np.int16), kind="stable")
        ]  # ids follow dates
        n_inv = len(i_order)
        i_contact = o_contact[i_order]
        i_persona = persona[i_contact]
        i_sec = ship[i_order]
        i_day = i_sec // DAY
        i_acct = account[i_contact]
        terms = np.where(i_acct == 2, 60, np.where(i_acct == 1, 30, 14))
        due_day = i_day + terms
        unpaid = rng.random(n_inv) < PT["unpaid"][i_persona].astype(float)
        late = (~unpaid) & (rng.random(n_inv) < PT["late"][i_persona].astype(float))
        i_prepaid = prepaid[i_order]
        pay_day = np.where(
            i_prepaid, i_day, due_day - np.floor(rng.random(n_inv) * (terms - 1)).astype(np.int64)
        )
        early = ~i_prepaid & (rng.random(n_inv) < 0.3)
        pay_day = np.where(early, i_day + np.floor(rng.random(n_inv) * 5).astype(np.int64), pay_day)
        pay_day = np.where(
            late, due_day + 3 + np.floor(rng.random(n_inv) * 117).astype(np.int64), pay_day
        )
        pay_sec = np.maximum(
            pay_day * DAY + (rng.uniform(7, 21, n_inv) * 3600).astype(np.int64), i_sec + 60
        )
        has_pay = (~unpaid) & (pay_sec < end_sec)
        inv_amount = order_amount[i_order]
        split = has_pay & (rng.random(n_inv) < 0.03) & (inv_amount > 2000)
        del unpaid, late, early, pay_day, i_prepaid
        p_inv = np.concatenate([np.flatnonzero(has_pay), np.flatnonzero(split)])
        p_second = np.zeros(len(p_inv), bool)
        p_second[int(has_pay.sum()) :] = True
        amount = inv_amount[p_inv]
        first_part = np.round(amount * 0.5).astype(np.int64)
        p_amount = np.where(
            split[p_inv], np.where(p_second, amount - first_part, first_part), amount
        )
        p_sec = pay_sec[p_inv] + np.where(
            p_second, (5 + np.floor(rng.random(len(p_inv)) * 35)).astype(np.int64) * DAY, 0
        )
        keep = p_sec < end_sec
        p_inv, p_amount, p_sec = p_inv[keep], p_amount[keep], p_sec[keep]
        po = np.argsort((p_sec // DAY).astype(np.int16), kind="stable")
        p_inv, p_amount, p_sec = p_inv[po], p_amount[po], p_sec[po]
        del amount, first_part, keep, po, p_second, pay_sec, has_pay, split
        n_pay = len(p_inv)
        p_cur = currency[i_order[p_inv]]
        p_chan = o_channel[i_order[p_inv]]
        p_acct = i_acct[p_inv]
        # payment method (card, transfer, cash, paypal, blik) by payer profile
        payer = np.where(p_acct > 0, 0, np.where(p_chan == 1, 1, np.where(p_cur == 1, 2, 3)))
        method_w = [
            [0, 1, 0, 0, 0],  # businesses: bank transfer
            [0.5, 0, 0.5, 0, 0],  # in store: card or cash
            [0.40, 0.10, 0, 0.15, 0.35],  # Polish consumers: BLIK
            [0.60, 0.10, 0, 0.30, 0],  # other consumers
        ]
        method = group_choice(payer, method_w, rng.random(n_pay)).astype(np.int64)
        method = np.where(rng.random(n_pay) < 0.03, -1, method)
        del p_cur, p_chan, p_acct, payer

        # ---- invoices out ----
        drng = stream(seed, f"defects-invoices/{chunk}")
        i_def = np.zeros(n_inv, np.int8)
        i_def[pick_rows(drng, n_inv, 0.002, 1)] = 1  # due_on 'n/a'
        row, evn, drop = emit_versions(i_sec, cfg)
        row, evn, drop = with_resends(row, evn, drop, 0.004, cfg, drng)
        sink(
            EntityOut(
                "invoices",
                pa.table(
                    {
                        "id": row + id_off["I"] + 1,
                        "ord": i_order[row] + id_off["O"] + 1,
                        "contact": i_contact[row] + 1,
                        "inv": to_date(i_day[row]),
                        "due": to_date(due_day[row]),
                        "amount": inv_amount[row],
                        "cur": dict_col(currency[i_order[row]], ["EUR", "PLN"]),
                        "updated": to_ts(i_sec[row]),
                        "defect": i_def[row],
                    }
                ),
                drop,
                {
                    "invoice_id": ident("id", "INV", "I"),
                    "order_id": ident("ord", "O", "O"),
                    "contact_id": ident("contact", "C", "C"),
                    "invoiced_on": "inv",
                    "due_on": "due",
                    "amount": money("amount"),
                    "currency": "cur",
                    "updated_at": "updated",
                },
                defect_columns={"due_on": "'n/a'"},
            )
        )
        del row, evn, drop, i_def, i_contact, i_persona, i_day, i_acct, terms, due_day, inv_amount

        # ---- payments out ----
        drng = stream(seed, f"defects-payments/{chunk}")
        y_def = np.zeros(n_pay, np.int8)
        neg = pick_rows(drng, n_pay, 0.004, 3)
        out_amount = p_amount.copy()
        out_amount[neg] = -p_amount[neg]
        y_def[pick_rows(drng, n_pay, 0.003, 2)] = 1  # paid_on 'n/a'
        row, evn, drop = emit_versions(p_sec, cfg)
        row, evn, drop = with_resends(row, evn, drop, 0.004, cfg, drng)
        sink(
            EntityOut(
                "payments",
                pa.table(
                    {
                        "id": row + id_off["Y"] + 1,
                        "inv": p_inv[row] + id_off["I"] + 1,
                        "paid": to_date(p_sec[row] // DAY),
                        "amount": out_amount[row],
                        "method": dict_col(method[row], PAYMENT_METHODS),
                        "updated": to_ts(p_sec[row]),
                        "defect": y_def[row],
                    }
                ),
                drop,
                {
                    "payment_id": ident("id", "PAY", "Y"),
                    "invoice_id": ident("inv", "INV", "I"),
                    "paid_on": "paid",
                    "amount": money("amount"),
                    "payment_method": "method",
                    "updated_at": "updated",
                },
                defect_columns={"paid_on": "'n/a'"},
            )
        )
        del row, evn, drop, y_def, out_amount, p_inv, p_amount, p_sec, method, i_order, i_sec

        # ---------------- support tickets ----------------
        tick("support tickets")
        rng = stream(seed, f"tickets/{chunk}")
        years = (E + 1 - created_day[c0:c1]) / 365.25
        n_free = rng.poisson(PT["ticket_rate"][p_loc].astype(float) * years)
        f_contact = c0 + expand(n_free)[0]
        f_sec = created_sec[f_contact] + (
            rng.random(len(f_contact)) * (end_sec - created_sec[f_contact])
        ).astype(np.int64)
        f_cat = group_choice(persona[f_contact], PT["ticket_w"], rng.random(len(f_contact)))
        pre_idx = np.flatnonzero(rng.random(n_ord) < PT["pre_q"][o_persona].astype(float))
        pre_sec = o_sec[pre_idx] - (rng.uniform(0.2, 7, len(pre_idx)) * DAY).astype(np.int64)
        pre_cat = group_choice(o_persona[pre_idx], PT["pre_w"], rng.random(len(pre_idx)))
        post_p = PT["post"][o_persona].astype(float) * np.where(final == 3, 3.0, 1.0)
        post_idx = np.flatnonzero(rng.random(n_ord) < post_p)
        post_sec = o_sec[post_idx] + (rng.uniform(0.5, 12, len(post_idx)) * DAY).astype(np.int64)
        post_cat = group_choice(o_persona[post_idx], PT["post_w"], rng.random(len(post_idx)))
        t_contact = np.concatenate([f_contact, o_contact[pre_idx], o_contact[post_idx]])
        t_sec = np.concatenate([f_sec, pre_sec, post_sec])
        t_cat = np.concatenate([f_cat, pre_cat, post_cat]).astype(np.int64)
        t_kind = np.concatenate(
            [
                np.zeros(len(f_contact), np.int8),
                np.ones(len(pre_idx), np.int8),
                np.full(len(post_idx), 2, np.int8),
            ]
        )
        t_order = np.concatenate([np.full(len(f_contact) + len(pre_idx), -1), post_idx])
        t_persona = persona[t_contact]
        # time of day: business hours on weekdays, or evenings, nights and weekends
        n_t = len(t_sec)
        off = rng.random(n_t) < PT["offhours"][t_persona].astype(float)
        day = t_sec // DAY
        wd = (day + 6) % 7  # 2023-01-01 was a Sunday; Monday = 0
        to_monday = np.where(wd == 5, 2, np.where(wd == 6, 1, 0))
        weekend_move = off & (rng.random(n_t) < 0.5) & (t_kind != 1)
        day = np.where(
            off,
            np.where(weekend_move, day + (5 - wd) % 7 + (rng.random(n_t) < 0.4), day),
            day + to_monday,
        )
        hour_s = np.where(
            off,
            np.where(weekend_move, rng.uniform(8, 23, n_t), (18 + rng.uniform(0, 13.5, n_t)) % 24),
            rng.uniform(8, 17.9, n_t),
        )
        t_sec = np.maximum(
            day * DAY + (hour_s * 3600).astype(np.int64), created_sec[t_contact] + 60
        )
        ok = t_sec < end_sec
        to = np.flatnonzero(ok)
        to = to[np.argsort((t_sec[to] // DAY).astype(np.int16), kind="stable")]
        t_contact, t_sec, t_cat, t_kind, t_order, t_persona = (
            a[to] for a in (t_contact, t_sec, t_cat, t_kind, t_order, t_persona)
        )
        n_t = len(t_sec)
        t_pre = (t_kind == 1) | (
            (t_kind == 0) & (t_sec < first_order_sec[t_contact]) & np.isin(t_cat, [0, 2, 4, 5, 7])
        )
        t_urgent = rng.random(n_t) < PT["urgent"][t_persona].astype(float)
        t_clar = rng.poisson(PT["clar"][t_persona].astype(float))
        t_chan = group_choice(t_persona, PT["tchan_w"], rng.random(n_t))
        base_min = np.array([9.0, 12.0, 10.0, 4.0, 20.0])[t_chan]
        t_minutes = np.round(base_min * rng.lognormal(0, 0.5, n_t) * (1 + 0.35 * t_clar) * 10) / 10
        res_h = rng.lognormal(np.log(np.where(t_persona == P_INDEX["toxic"], 50.0, 18.0)), 0.9)
        t_close = t_sec + (res_h * 3600).astype(np.int64) + 300
        t_minutes_missing = rng.random(n_t) < 0.02
        # labels: in the language of the contact's country, untidy case now and then
        label_text, label_index = [], {}
        for ci, canon in enumerate(TICKET_CATEGORIES):
            for li in range(3):
                for text in TICKET_LABELS[canon][li]:
                    for variant in (text, text.upper(), f"{text} "):
                        label_index[(ci, li, text, variant)] = len(label_text)
                        label_text.append(variant)
        lab_off = np.zeros((len(TICKET_CATEGORIES), 3), dtype=np.int64)
        lab_cnt = np.zeros((len(TICKET_CATEGORIES), 3), dtype=np.int64)
        for ci, canon in enumerate(TICKET_CATEGORIES):
            for li in range(3):
                first_text = TICKET_LABELS[canon][li][0]
                lab_off[ci, li] = label_index[(ci, li, first_text, first_text)]
                lab_cnt[ci, li] = len(TICKET_LABELS[canon][li])
        t_lang = lang[t_contact]
        which = np.floor(rng.random(n_t) * lab_cnt[t_cat, t_lang]).astype(np.int64)
        vu = rng.random(n_t)
        t_label = (
            lab_off[t_cat, t_lang] + which * 3 + np.where(vu < 0.05, 1, np.where(vu < 0.08, 2, 0))
        )

        drng = stream(seed, f"defects-tickets/{chunk}")
        future = pick_rows(drng, n_t, 0.004, 2)
        out_opened = t_sec.copy()
        out_opened[future] = to_2031(t_sec[future])
        row, evn, drop = emit_versions(np.stack([t_sec, t_close], axis=1), cfg)
        row, evn, drop = with_resends(row, evn, drop, 0.004, cfg, drng)
        closed = evn == 1
        rel = t_order[row]
        sink(
            EntityOut(
                "support_tickets",
                pa.table(
                    {
                        "id": row + id_off["T"] + 1,
                        "contact": t_contact[row] + 1,
                        "channel": dict_col(t_chan[row], TICKET_CHANNELS),
                        "label": dict_col(t_label[row], label_text),
                        "urgent": t_urgent[row],
                        "opened": to_ts(out_opened[row]),
                        "closed": to_ts(np.where(closed, t_close[row], ABSENT)),
                        "minutes": pa.array(
                            np.where(closed, t_minutes[row], np.round(t_minutes[row] * 0.4, 1)),
                            mask=t_minutes_missing[row],
                        ),
                        "clar": t_clar[row],
                        "pre": t_pre[row],
                        "rel": pa.array(rel + id_off["O"] + 1, mask=rel < 0),
                        "updated": to_ts(np.where(closed, t_close[row], t_sec[row])),
                    }
                ),
                drop,
                {
                    "ticket_id": ident("id", "T", "T"),
                    "contact_id": ident("contact", "C", "C"),
                    "channel": "channel",
                    "category_label": "label",
                    "is_urgent": "urgent",
                    "opened_at": "opened",
                    "closed_at": "closed",
                    "handling_minutes": "CAST(minutes AS DECIMAL(10,1))",
                    "clarification_round_trips": "clar",
                    "is_pre_purchase": "pre",
                    "related_order_id": ident("rel", "O", "O"),
                    "updated_at": "updated",
                },
            )
        )
        del row, evn, drop

        # ---------------- NPS responses ----------------
        tick("NPS responses")
        rng = stream(seed, f"nps/{chunk}")
        rr = PT["nps_rr"][o_persona].astype(float) * (final != 2)
        ans = np.flatnonzero(rng.random(n_ord) < rr)
        n_sec = deliver[ans] + (rng.uniform(2, 20, len(ans)) * DAY).astype(np.int64)
        ok = n_sec < end_sec
        ans, n_sec = ans[ok], n_sec[ok]
        no = np.argsort((n_sec // DAY).astype(np.int16), kind="stable")
        n_sec, n_contact = n_sec[no], o_contact[ans[no]]
        n_persona = persona[n_contact]
        n_nps = len(n_sec)
        mode = PT["nps_mode"][n_persona]
        su = rng.random(n_nps)
        mixed = np.select(
            [su < 0.05, su < 0.1, su < 0.2, su < 0.35, su < 0.65, su < 0.82], [2, 4, 6, 7, 8, 9], 10
        )
        high = np.select([su < 0.1, su < 0.35, su < 0.7], [7, 8, 9], 10)
        score = np.select(
            [mode == "promoter", mode == "high", mode == "low", mode == "mid"],
            [9 + (su < 0.6), high, np.floor(su * 5), 3 + np.floor(su * 6)],
            mixed,
        ).astype(np.int64)
        source = np.where(rng.random(n_nps) < PT["public"][n_persona].astype(float), 1, 0)
        sentiment = np.where(score >= 9, 2, np.where(score >= 7, 1, 0))
        comment_list, c_off, c_cnt = [], np.zeros((3, 3), int), np.zeros((3, 3), int)
        for li, key in enumerate(("it", "pl", "en")):
            for s in range(3):
                c_off[li, s], c_cnt[li, s] = len(comment_list), len(NPS_COMMENTS[key][s])
                comment_list += NPS_COMMENTS[key][s]
        n_lang = lang[n_contact]
        comment = c_off[n_lang, sentiment] + np.floor(
            rng.random(n_nps) * c_cnt[n_lang, sentiment]
        ).astype(int)
        comment = np.where((rng.random(n_nps) < 0.55) & (source == 0), -1, comment)

        drng = stream(seed, f"defects-nps/{chunk}")
        bad = pick_rows(drng, n_nps, 0.009, 4)
        out_score = score.copy()
        out_score[bad] = np.where(drng.random(len(bad)) < 0.55, 11, -1)  # out of the 0-10 range
        future = pick_rows(drng, n_nps, 0.003, 1)
        out_resp = n_sec.copy()
        out_resp[future] = to_2031(n_sec[future])
        row, evn, drop = emit_versions(n_sec, cfg)
        sink(
            EntityOut(
                "nps_responses",
                pa.table(
                    {
                        "id": row + id_off["N"] + 1,
                        "contact": n_contact[row] + 1,
                        "resp": to_ts(out_resp[row]),
                        "score": out_score[row],
                        "source": dict_col(source[row], ["survey", "public_review"]),
                        "comment": dict_col(comment[row], comment_list),
                        "updated": to_ts(n_sec[row]),
                    }
                ),
                drop,
                {
                    "response_id": ident("id", "N", "N"),
                    "contact_id": ident("contact", "C", "C"),
                    "responded_at": "resp",
                    "score": "score",
                    "response_source": "source",
                    "comment": "comment",
                    "updated_at": "updated",
                },
            )
        )

        # ---------------- marketing touches ----------------
        tick("marketing touches")
        rng = stream(seed, f"touches/{chunk}")
        months_alive = (end_sec - created_sec[c0:c1]) / (30.4 * DAY)
        n_out = rng.poisson(PT["out_rate"][p_loc].astype(float) * months_alive)
        n_out = np.where(p_loc == P_INDEX["reach_only"], np.maximum(n_out, 1), n_out)
        e_lo = PT["eng_extra"][:, 0][p_loc]
        e_hi = PT["eng_extra"][:, 1][p_loc]
        n_eng = rng.poisson(PT["eng_rate"][p_loc].astype(float) * months_alive) + np.floor(
            e_lo + (e_hi - e_lo + 1) * rng.random(m)
        ).astype(np.int64)
        out_c = c0 + expand(n_out)[0]
        eng_c = c0 + expand(n_eng)[0]
        out_sec = created_sec[out_c] + (
            rng.random(len(out_c)) * (end_sec - created_sec[out_c])
        ).astype(np.int64)
        eng_sec = created_sec[eng_c] + (
            rng.random(len(eng_c)) * (end_sec - created_sec[eng_c])
        ).astype(np.int64)
        out_type = (rng.random(len(out_c)) < 0.45).astype(np.int8)  # impression / send
        eng_type = (2 + group_choice(persona[eng_c], PT["eng_w"], rng.random(len(eng_c)))).astype(
            np.int8
        )
        # research before buying
        pt = np.flatnonzero(rng.random(n_ord) < PT["pre_touch"][o_persona].astype(float))
        pre_o, _ = expand(1 + (rng.random(len(pt)) < 0.5))
        pre_o = pt[pre_o]
        pre_sec = o_sec[pre_o] - (rng.uniform(0.05, 6, len(pre_o)) * DAY).astype(np.int64)
        pre_type = np.where(rng.random(len(pre_o)) < 0.6, 4, 3).astype(np.int8)  # visit / click
        # the acquisition touch
        acq_c = c0 + np.flatnonzero(acq_campaign[c0:c1] >= 0)
        acq_type = np.where(persona[acq_c] == P_INDEX["reach_only"], 0, 5).astype(
            np.int8
        )  # impression / form
        m_contact = np.concatenate([out_c, eng_c, o_contact[pre_o], acq_c])
        m_sec = np.concatenate([out_sec, eng_sec, pre_sec, created_sec[acq_c]])
        m_type = np.concatenate([out_type, eng_type, pre_type, acq_type])
        m_acq = np.zeros(len(m_sec), bool)
        m_acq[len(m_sec) - len(acq_c) :] = True
        del out_c, eng_c, out_sec, eng_sec, out_type, eng_type, pre_o, pre_sec, pre_type
        ok = (m_sec >= created_sec[m_contact]) & (m_sec < end_sec)
        # impulsive buyers: nothing in the 7 days before an order
        imp = PT["no_touch_before_order"].astype(bool)[persona]
        cand = np.flatnonzero(ok & imp[m_contact])
        if len(cand):
            o_imp = np.flatnonzero(imp[o_contact])
            key_sorted = np.sort(o_contact[o_imp] * (1 << 30) + o_sec[o_imp])
            m_key = m_contact[cand] * (1 << 30) + m_sec[cand]
            pos = np.searchsorted(key_sorted, m_key, side="left")
            nxt = (
                key_sorted[np.minimum(pos, max(len(key_sorted) - 1, 0))]
                if len(key_sorted)
                else m_key + 8 * DAY
            )
            near = (pos < len(key_sorted)) & (nxt - m_key < 7 * DAY)
            ok[cand[near]] = False
        mo = np.flatnonzero(ok)
        mo = mo[np.argsort((m_sec[mo] // DAY).astype(np.int16), kind="stable")]
        m_contact, m_sec, m_type, m_acq = m_contact[mo], m_sec[mo], m_type[mo], m_acq[mo]
        del mo, ok
        n_m = len(m_sec)
        m_camp = pick_active(camp_index, market[m_contact], m_sec // DAY, rng.random(n_m))
        m_camp = np.where(
            (m_type >= 4) & (rng.random(n_m) < 0.5), -1, m_camp
        )  # visits etc. are often direct
        m_camp = np.where(m_acq, acq_campaign[m_contact], m_camp)

        drng = stream(seed, f"defects-touches/{chunk}")
        m_def = np.zeros(n_m, np.int8)
        m_def[pick_rows(drng, n_m, 0.002, 2)] = 1  # 'n/a'
        future = pick_rows(drng, n_m, 0.002, 2)
        out_touched = m_sec.copy()
        out_touched[future] = to_2031(m_sec[future])
        row, evn, drop = emit_versions(m_sec, cfg)
        row, evn, drop = with_resends(row, evn, drop, 0.003, cfg, drng)
        sink(
            EntityOut(
                "marketing_touches",
                pa.table(
                    {
                        "id": row + id_off["M"] + 1,
                        "contact": m_contact[row] + 1,
                        "camp": pa.array(m_camp[row] + 1, mask=m_camp[row] < 0),
                        "type": dict_col(m_type[row], TOUCH_TYPES),
                        "touched": to_ts(out_touched[row]),
                        "updated": to_ts(m_sec[row]),
                        "defect": m_def[row],
                    }
                ),
                drop,
                {
                    "touch_id": ident("id", "M", "M"),
                    "contact_id": ident("contact", "C", "C"),
                    "campaign_id": ident("camp", "CMP", "K"),
                    "touch_type": "type",
                    "touched_at": "CAST(touched AS TIMESTAMP)",
                    "updated_at": "CAST(updated AS TIMESTAMP)",
                },
                defect_columns={"touched_at": "'n/a'"},
                timestamp_format="%Y-%m-%dT%H:%M:%S",
            )
        )
        counts = {"O": n_ord, "L": n_ln, "I": n_inv, "Y": n_pay, "T": n_t, "N": n_nps, "M": n_m}
        for key, count in counts.items():
            id_off[key] += count

    for chunk, c0 in enumerate(range(0, n, CHUNK_CONTACTS)):
        tick(f"chunk {chunk}")
        chunk_facts(chunk, c0, min(n, c0 + CHUNK_CONTACTS))
    tick("done")


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def load_contract_columns(path: Path = CONTRACT_PATH) -> dict[str, list[str]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: list(spec["columns"]) for name, spec in raw["entities"].items()}


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class FileInfo:
    entity: str
    path: Path
    rows: int

    @property
    def bytes(self) -> int:
        return self.path.stat().st_size


class Writer:
    """Writes each entity as it arrives, on a background thread (DuckDB releases the GIL, so
    formatting and writing overlap with generating what comes next). An entity may arrive
    in several chunks: their rows are appended to the same drop files."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.contract = load_contract_columns()
        self.ext = "csv" if cfg.fmt == "csv" else "parquet"
        self.files: dict[Path, FileInfo] = {}
        self.parquet: dict[Path, pq.ParquetWriter] = {}
        self.seen: set[str] = set()
        self.error: BaseException | None = None
        self.con = duckdb.connect()
        self.con.execute("SET preserve_insertion_order = true")
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.thread = threading.Thread(target=self._run, name="crm-writer", daemon=True)
        self.thread.start()

    def __call__(self, out: EntityOut) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(out)

    def abort(self) -> None:
        """Stop the writer thread after a failure elsewhere (its own error, if any, is dropped)."""
        self.queue.put(None)
        self.thread.join()
        self._finish()

    def _run(self) -> None:
        while True:
            out = self.queue.get()
            if out is None:
                return
            if self.error is None:
                try:
                    self._write(out)
                except BaseException as exc:  # reported to the main thread
                    self.error = exc

    def _finish(self) -> None:
        for writer in self.parquet.values():
            writer.close()
        self.parquet.clear()
        self.con.close()

    def close(self) -> list[FileInfo]:
        self.queue.put(None)
        self.thread.join()
        self._finish()
        if self.error is not None:
            raise self.error
        missing = set(self.contract) - self.seen
        if missing:
            raise RuntimeError(
                f"the generator produced no data for contract entities {sorted(missing)}"
            )
        files = list(self.files.values())
        if self.ext == "csv":
            files = _legacy_encodings(self.cfg, files)
        return sorted(files, key=lambda f: (f.entity, f.path.name))

    def _write(self, out: EntityOut) -> None:
        cfg, con = self.cfg, self.con
        columns = self.contract[out.name]
        if set(out.columns) != set(columns):
            raise RuntimeError(
                f"{out.name}: generator columns {sorted(out.columns)} != contract {sorted(columns)}"
            )
        folder = cfg.out / out.name
        if out.name not in self.seen:  # first chunk of this entity: start afresh
            self.seen.add(out.name)
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob(f"*.{self.ext}"):
                stale.unlink()
        has_defects = "defect" in out.table.column_names
        fast = ", ".join(f"{out.columns[c]} AS {c}" for c in columns)
        slow = ", ".join(f"{out.defect_columns.get(c, out.columns[c])} AS {c}" for c in columns)
        bounds = np.searchsorted(out.drops, np.arange(cfg.drops + 1), side="left")
        csv_opts = "FORMAT csv, HEADER {header}"
        if out.timestamp_format != DEFAULT_TIMESTAMP_FORMAT:  # an explicit format is slower
            csv_opts += f", TIMESTAMPFORMAT '{out.timestamp_format}'"
        for k in range(cfg.drops):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            if hi <= lo:
                continue
            part = out.table.slice(lo, hi - lo)
            con.register("part", pa.Table.from_batches(part.to_batches(max_chunksize=131_072)))
            path = folder / f"{cfg.drop_name(k)}.{self.ext}"
            n_def = int(np.count_nonzero(part.column("defect").to_numpy())) if has_defects else 0
            if self.ext == "parquet":
                text = con.execute(
                    f"SELECT {self._as_text(out, columns)} FROM part"
                ).to_arrow_table()
                if path not in self.parquet:
                    self.parquet[path] = pq.ParquetWriter(path, text.schema, compression="zstd")
                self.parquet[path].write_table(text)
            else:
                where = " WHERE defect = 0" if n_def else ""
                self._copy_csv(f"SELECT {fast} FROM part{where}", path, csv_opts)
                if n_def:  # rows with text defects: rendered as text, appended to the same file
                    self._copy_csv(f"SELECT {slow} FROM part WHERE defect > 0", path, csv_opts)
            con.unregister("part")
            if path in self.files:
                self.files[path].rows += hi - lo
            else:
                self.files[path] = FileInfo(out.name, path, hi - lo)

    def _copy_csv(self, select: str, path: Path, csv_opts: str) -> None:
        """COPY a query to ``path``: a new file with a header, or appended without one."""
        if not path.exists():
            target = _sql_literal(str(path))
            self.con.execute(f"COPY ({select}) TO {target} ({csv_opts.format(header='true')})")
            return
        extra = path.with_name(path.name + ".part")
        target = _sql_literal(str(extra))
        self.con.execute(f"COPY ({select}) TO {target} ({csv_opts.format(header='false')})")
        with path.open("r+b") as dst, extra.open("rb") as src:
            dst.seek(0, os.SEEK_END)
            _append(src, dst)
        extra.unlink()

    def _as_text(self, out: EntityOut, columns: list[str]) -> str:
        """Every column as text (Parquet extracts carry text like the CSV ones)."""
        select = ", ".join(f"{out.columns[c]} AS {c}" for c in columns)
        described = self.con.execute(f"DESCRIBE SELECT {select} FROM part").fetchall()
        types = {r[0]: r[1] for r in described}
        exprs = []
        for c in columns:
            expr = out.columns[c]
            text = (
                f"strftime({expr}, '{out.timestamp_format}')"
                if types[c].startswith("TIMESTAMP")
                else f"CAST({expr} AS VARCHAR)"
            )
            if c in out.defect_columns:
                text = f"CASE WHEN defect > 0 THEN {out.defect_columns[c]} ELSE {text} END"
            exprs.append(f"{text} AS {c}")
        return ", ".join(exprs)


def _append(src, dst) -> None:
    """Append one open file to another (in the kernel where the platform allows)."""
    size = os.fstat(src.fileno()).st_size
    if hasattr(os, "copy_file_range"):
        dst.flush()
        copied = 0
        try:
            while copied < size:
                done = os.copy_file_range(src.fileno(), dst.fileno(), size - copied)
                if done == 0:
                    break
                copied += done
            if copied == size:
                return
        except OSError:
            pass
        src.seek(copied)
    shutil.copyfileobj(src, dst, 1 << 22)


def _legacy_encodings(cfg: Config, files: list[FileInfo]) -> list[FileInfo]:
    """The first products drop gets a UTF-8 BOM; the second contacts drop is re-encoded in
    Windows-1250 (declared in its name). Rows that Windows-1250 cannot represent (e.g. an
    Italian grave accent) arrive one drop later, as a late row would."""
    by_path = {f.path: f for f in files}
    products_first = cfg.out / "products" / f"{cfg.drop_name(0)}.csv"
    if products_first in by_path:
        data = products_first.read_bytes()
        products_first.write_bytes(b"\xef\xbb\xbf" + data)
    if cfg.drops < 3:
        return list(by_path.values())
    src = cfg.out / "contacts" / f"{cfg.drop_name(1)}.csv"
    if src not in by_path:
        return list(by_path.values())
    nxt = cfg.out / "contacts" / f"{cfg.drop_name(2)}.csv"
    header, *rows = src.read_text(encoding="utf-8").splitlines(keepends=True)
    good, bad = [], []
    for line in rows:
        try:
            line.encode("cp1250")
            good.append(line)
        except UnicodeEncodeError:
            bad.append(line)
    if not good:
        return list(by_path.values())
    target = cfg.out / "contacts" / f"{cfg.drop_name(1)}.{LEGACY_ENCODING}.csv"
    target.write_bytes("".join([header, *good]).encode("cp1250"))
    src.unlink()
    info = by_path.pop(src)
    by_path[target] = FileInfo(info.entity, target, len(good))
    if bad:
        if nxt in by_path:
            with nxt.open("a", encoding="utf-8") as fh:
                fh.writelines(bad)
            by_path[nxt].rows += len(bad)
        else:
            nxt.write_text("".join([header, *bad]), encoding="utf-8")
            by_path[nxt] = FileInfo("contacts", nxt, len(bad))
    return list(by_path.values())


def generate(cfg: Config, hidden: dict | None = None) -> list[FileInfo]:
    """Generate the extract and write it; returns the files written.

    ``hidden`` (optional) receives the hidden persona of each contact, for diagnostics.
    """
    if cfg.contacts < 100:
        raise ValueError("--contacts must be at least 100 (every persona needs members)")
    if cfg.drops < 1:
        raise ValueError("--drops must be at least 1")
    if cfg.fmt not in ("csv", "parquet"):
        raise ValueError("--format must be csv or parquet")
    writer = Writer(cfg)
    try:
        build(cfg, writer, hidden)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


# --------------------------------------------------------------------------------------
# Seeds: the mapping tables the warehouse uses for the labels this CRM emits
# --------------------------------------------------------------------------------------


def seed_tables() -> dict[str, list[tuple[str, ...]]]:
    ticket = {}
    for canon in TICKET_CATEGORIES:
        for labels in TICKET_LABELS[canon]:
            for text in labels:
                ticket[text.strip().lower()] = canon
    product = {}
    for canon, labels in PRODUCT_CATEGORY_LABELS.items():
        for text in labels:
            product[text.strip().lower()] = canon
    country = {}
    for code, en, it, pl, native, region, *_ in COUNTRIES:
        for alias in [code, en, it, pl, native, *COUNTRY_EXTRA_ALIASES.get(code, [])]:
            country.setdefault(alias.strip().lower(), (code, en, region))
    return {
        "ticket_category_map": [("crm_category_label", "canonical_category")]
        + sorted(ticket.items()),
        "product_category_map": [("crm_category_label", "category")] + sorted(product.items()),
        "country_codes": [("country_alias", "country_code", "country_name", "macro_region")]
        + sorted((alias, *v) for alias, v in country.items()),
    }


def write_seeds(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in seed_tables().items():
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        path = folder / f"{name}.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def summary(files: list[FileInfo]) -> str:
    lines = [f"{'entity':<18} {'file':<34} {'rows':>10} {'bytes':>12}"]
    totals: dict[str, list[int]] = {}
    for f in files:
        lines.append(f"{f.entity:<18} {f.path.name:<34} {f.rows:>10,} {f.bytes:>12,}")
        t = totals.setdefault(f.entity, [0, 0])
        t[0] += f.rows
        t[1] += f.bytes
    lines.append("")
    lines.append(f"{'entity':<18} {'files':>6} {'rows':>12} {'bytes':>14}")
    for entity, (rows, size) in totals.items():
        count = sum(1 for f in files if f.entity == entity)
        lines.append(f"{entity:<18} {count:>6} {rows:>12,} {size:>14,}")
    lines.append(
        f"{'total':<18} {len(files):>6} {sum(t[0] for t in totals.values()):>12,} "
        f"{sum(t[1] for t in totals.values()):>14,}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--contacts", type=int, default=2000, help="number of contacts (default 2000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--drops", type=int, default=4, help="number of daily drops (default 4)")
    p.add_argument(
        "--out", type=Path, default=Path("data/sample/landing"), help="landing directory"
    )
    p.add_argument("--format", dest="fmt", choices=("csv", "parquet"), default="csv")
    p.add_argument(
        "--last-drop",
        type=dt.date.fromisoformat,
        default=DEFAULT_LAST_DROP,
        help="date of the last drop, YYYY-MM-DD (default 2026-10-31)",
    )
    p.add_argument(
        "--write-seeds",
        type=Path,
        metavar="DIR",
        help="write the label/country mapping seeds to DIR and exit",
    )
    p.add_argument("--quiet", action="store_true", help="no summary")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.write_seeds:
        for path in write_seeds(args.write_seeds):
            print(f"wrote {path}")
        return 0
    cfg = Config(
        contacts=args.contacts,
        seed=args.seed,
        drops=args.drops,
        out=args.out,
        fmt=args.fmt,
        last_drop=args.last_drop,
        quiet=args.quiet,
    )
    started = time.perf_counter()
    files = generate(cfg)
    elapsed = time.perf_counter() - started
    if not args.quiet:
        print(summary(files))
        print(
            f"\n{cfg.contacts:,} contacts, seed {cfg.seed}, {cfg.drops} drops -> {cfg.out} "
            f"({cfg.fmt}) in {elapsed:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
