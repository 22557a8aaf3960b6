"""Per-country reference data for the sandbox generator: names, places, money.

Every name is stored with an ASCII form so emails can be derived from it without
transliterating at generation time. All addresses, domains and IPs are fictional or
reserved for documentation (RFC 2606 domains, RFC 5737 / RFC 3849 address blocks).

Over 400 lines: reference data (names, places, currencies per country); little code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Country:
    """One market: what its customers are called, where they live, how they pay."""

    code: str
    currency: str
    locale: str
    weight: int
    tax_included: bool
    # Multiplier from the catalog's USD list prices, and whether prices are whole numbers.
    fx: float
    whole_prices: bool
    first_names: tuple[tuple[str, str], ...]
    last_names: tuple[tuple[str, str], ...]
    # (city, state or region, street names)
    places: tuple[tuple[str, str, tuple[str, ...]], ...]
    address_format: str
    postcode_format: str
    company_suffix: str
    # A second payment method offered on the web besides cards and PayPal.
    local_method: str | None = None


def _names(*pairs: str) -> tuple[tuple[str, str], ...]:
    """Pairs "Display|ascii"; the ASCII form defaults to a lower-cased copy."""
    out = []
    for item in pairs:
        display, _, ascii_form = item.partition("|")
        out.append((display, ascii_form or display.lower()))
    return tuple(out)


COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        "USD",
        "en_US",
        22,
        False,
        1.0,
        False,
        _names(
            "James",
            "Mary",
            "Zoë|zoe",
            "Chloe",
            "Michael",
            "Jennifer",
            "Carlos",
            "Aaliyah",
            "Ethan",
            "Madison",
            "DeShawn|deshawn",
            "Emily",
            "Noah",
            "Olivia",
        ),
        _names(
            "Smith",
            "Johnson",
            "O'Brien|obrien",
            "Williams",
            "García|garcia",
            "Brown",
            "Nguyen",
            "Miller",
            "Davis",
            "Rodríguez|rodriguez",
            "Wilson",
            "Anderson",
        ),
        (
            ("New York", "NY", ("Broadway", "W 72nd St", "Lexington Ave")),
            ("Austin", "TX", ("Congress Ave", "Rainey St", "S Lamar Blvd")),
            ("Seattle", "WA", ("Pike St", "Pine St", "Rainier Ave S")),
            ("Denver", "CO", ("Colfax Ave", "Larimer St", "Blake St")),
            ("Chicago", "IL", ("Michigan Ave", "Wacker Dr", "Halsted St")),
        ),
        "{n} {s}",
        "#####",
        "LLC",
    ),
    Country(
        "GB",
        "GBP",
        "en_GB",
        10,
        True,
        0.8,
        False,
        _names(
            "Oliver",
            "Amelia",
            "Siobhan",
            "Harry",
            "Isla",
            "George",
            "Niamh",
            "Rhys",
            "Priya",
            "Callum",
        ),
        _names(
            "Taylor",
            "Davies",
            "Evans",
            "Wright",
            "Patel",
            "Hughes",
            "McLeod|mcleod",
            "Roberts",
            "Walker",
            "Ó Súilleabháin|osullivan",
        ),
        (
            ("London", "England", ("Baker Street", "Camden Road", "Old Kent Road")),
            ("Manchester", "England", ("Deansgate", "Oxford Road", "Market Street")),
            ("Edinburgh", "Scotland", ("Princes Street", "Leith Walk", "Royal Mile")),
            ("Cardiff", "Wales", ("Queen Street", "Cathedral Road", "City Road")),
        ),
        "{n} {s}",
        "AA# #AA",
        "Ltd",
    ),
    Country(
        "DE",
        "EUR",
        "de_DE",
        12,
        True,
        0.95,
        False,
        _names(
            "Jürgen|juergen",
            "Anna",
            "Lukas",
            "Lena",
            "Maximilian",
            "Sophie",
            "Jörg|joerg",
            "Mia",
            "Felix",
            "Käthe|kaethe",
            "Jonas",
            "Hannah",
        ),
        _names(
            "Müller|mueller",
            "Schmidt",
            "Schröder|schroeder",
            "Weiß|weiss",
            "Becker",
            "Hoffmann",
            "Schäfer|schaefer",
            "Koch",
            "Wagner",
            "Große|grosse",
        ),
        (
            ("München", "Bayern", ("Leopoldstraße", "Sendlinger Straße", "Maximilianstraße")),
            ("Köln", "Nordrhein-Westfalen", ("Ehrenstraße", "Hohe Straße", "Severinstraße")),
            ("Berlin", "Berlin", ("Kastanienallee", "Torstraße", "Sonnenallee")),
            ("Hamburg", "Hamburg", ("Mönckebergstraße", "Reeperbahn", "Osterstraße")),
        ),
        "{s} {n}",
        "#####",
        "GmbH",
    ),
    Country(
        "PL",
        "PLN",
        "pl_PL",
        12,
        True,
        4.0,
        False,
        _names(
            "Łukasz|lukasz",
            "Agnieszka",
            "Michał|michal",
            "Zofia",
            "Paweł|pawel",
            "Małgorzata|malgorzata",
            "Krzysztof",
            "Katarzyna",
            "Jędrzej|jedrzej",
            "Joanna",
            "Wojciech",
            "Żaneta|zaneta",
        ),
        _names(
            "Nowak",
            "Kowalski",
            "Wiśniewska|wisniewska",
            "Wójcik|wojcik",
            "Kamiński|kaminski",
            "Lewandowska",
            "Zieliński|zielinski",
            "Szymańska|szymanska",
            "Dąbrowski|dabrowski",
            "Kozłowska|kozlowska",
            "Grzegorczyk",
        ),
        (
            ("Warszawa", "Mazowieckie", ("ul. Marszałkowska", "ul. Puławska", "ul. Świętokrzyska")),
            ("Kraków", "Małopolskie", ("ul. Długa", "ul. Floriańska", "ul. Karmelicka")),
            ("Gdańsk", "Pomorskie", ("ul. Grunwaldzka", "ul. Długie Pobrzeże", "ul. Oliwska")),
            ("Wrocław", "Dolnośląskie", ("ul. Świdnicka", "ul. Legnicka", "ul. Oławska")),
            ("Łódź", "Łódzkie", ("ul. Piotrkowska", "ul. Zielona", "ul. Narutowicza")),
        ),
        "{s} {n}/{m}",
        "##-###",
        "Sp. z o.o.",
        "blik",
    ),
    Country(
        "NL",
        "EUR",
        "nl_NL",
        8,
        True,
        0.95,
        False,
        _names(
            "Daan",
            "Sanne",
            "Bram",
            "Fleur",
            "Sem",
            "Anouk",
            "Thijs",
            "Lotte",
            "Joëlle|joelle",
            "Ruben",
        ),
        _names(
            "de Vries|devries",
            "van den Berg|vandenberg",
            "Jansen",
            "Bakker",
            "Visser",
            "Smit",
            "Meijer",
            "de Jong|dejong",
            "Mulder",
            "van Dijk|vandijk",
        ),
        (
            ("Amsterdam", "Noord-Holland", ("Prinsengracht", "Kalverstraat", "Overtoom")),
            ("Utrecht", "Utrecht", ("Oudegracht", "Biltstraat", "Amsterdamsestraatweg")),
            (
                "Rotterdam",
                "Zuid-Holland",
                ("Coolsingel", "Witte de Withstraat", "Nieuwe Binnenweg"),
            ),
        ),
        "{s} {n}",
        "#### AA",
        "B.V.",
        "ideal",
    ),
    Country(
        "FR",
        "EUR",
        "fr_FR",
        8,
        True,
        0.95,
        False,
        _names(
            "Chloé|chloe",
            "Hélène|helene",
            "François|francois",
            "Gaëlle|gaelle",
            "Louis",
            "Léa|lea",
            "Théo|theo",
            "Manon",
            "Zoë|zoe",
            "Jérôme|jerome",
        ),
        _names(
            "Lefèvre|lefevre",
            "Dubois",
            "Girard",
            "Moreau",
            "Lambert",
            "Rousseau",
            "Fontaine",
            "Bérenger|berenger",
            "Mercier",
            "Leroy",
        ),
        (
            ("Paris", "Île-de-France", ("rue de Rivoli", "rue Oberkampf", "boulevard Voltaire")),
            (
                "Lyon",
                "Auvergne-Rhône-Alpes",
                ("rue de la République", "quai Saint-Antoine", "cours Lafayette"),
            ),
            (
                "Marseille",
                "Provence-Alpes-Côte d'Azur",
                ("La Canebière", "rue Paradis", "boulevard Baille"),
            ),
        ),
        "{n} {s}",
        "#####",
        "SARL",
    ),
    Country(
        "ES",
        "EUR",
        "es_ES",
        8,
        True,
        0.95,
        False,
        _names(
            "José|jose",
            "María|maria",
            "Iñaki|inaki",
            "Lucía|lucia",
            "Javier",
            "Carmen",
            "Álvaro|alvaro",
            "Elena",
            "Sofía|sofia",
            "Pablo",
        ),
        _names(
            "García|garcia",
            "Núñez|nunez",
            "Peña|pena",
            "Martínez|martinez",
            "López|lopez",
            "Sánchez|sanchez",
            "Ibáñez|ibanez",
            "Romero",
            "Torres",
            "Fernández|fernandez",
        ),
        (
            ("Madrid", "Madrid", ("Calle de Alcalá", "Gran Vía", "Calle de Serrano")),
            ("Barcelona", "Cataluña", ("Carrer de Balmes", "Passeig de Gràcia", "Carrer de Sants")),
            (
                "Sevilla",
                "Andalucía",
                ("Calle Sierpes", "Avenida de la Constitución", "Calle Feria"),
            ),
        ),
        "{s}, {n}",
        "#####",
        "S.L.",
    ),
    Country(
        "NO",
        "NOK",
        "nb_NO",
        5,
        True,
        10.5,
        False,
        _names(
            "Ørjan|orjan",
            "Åse|ase",
            "Bjørn|bjorn",
            "Solveig",
            "Håkon|haakon",
            "Ingrid",
            "Sigrún|sigrun",
            "Magnus",
            "Ragnhild",
            "Eirik",
        ),
        _names(
            "Hansen",
            "Johansen",
            "Ødegård|odegaard",
            "Bråten|braaten",
            "Larsen",
            "Kristiansen",
            "Sæther|saether",
            "Berg",
            "Haugen",
            "Lie",
        ),
        (
            ("Oslo", "Oslo", ("Karl Johans gate", "Grønlandsleiret", "Bogstadveien")),
            ("Bergen", "Vestland", ("Strandgaten", "Torgallmenningen", "Nygårdsgaten")),
            ("Trondheim", "Trøndelag", ("Munkegata", "Olav Tryggvasons gate", "Kongens gate")),
        ),
        "{s} {n}",
        "####",
        "AS",
    ),
    Country(
        "JP",
        "JPY",
        "ja_JP",
        7,
        True,
        150.0,
        True,
        _names(
            "太郎|taro",
            "花子|hanako",
            "結衣|yui",
            "翔|sho",
            "陽菜|hina",
            "蓮|ren",
            "Yuki",
            "Haruto",
            "美咲|misaki",
            "大輝|daiki",
        ),
        _names(
            "山田|yamada",
            "佐藤|sato",
            "鈴木|suzuki",
            "高橋|takahashi",
            "田中|tanaka",
            "渡辺|watanabe",
            "伊藤|ito",
            "Nakamura",
            "小林|kobayashi",
            "加藤|kato",
        ),
        (
            ("東京都", "東京都", ("千代田区丸の内", "渋谷区神南", "新宿区西新宿")),
            ("大阪市", "大阪府", ("北区梅田", "中央区難波", "天王寺区上本町")),
            ("Sapporo", "Hokkaido", ("Chuo-ku Kita 1-jo", "Kita-ku Kita 8-jo", "Toyohira-ku")),
        ),
        "{s}{n}-{m}",
        "###-####",
        "株式会社",
    ),
    Country(
        "BR",
        "BRL",
        "pt_BR",
        8,
        True,
        5.0,
        False,
        _names(
            "João|joao",
            "Conceição|conceicao",
            "Luíza|luiza",
            "Thiago",
            "Ana",
            "Gabriel",
            "Beatriz",
            "Rafael",
            "Letícia|leticia",
            "Mateus",
        ),
        _names(
            "Gonçalves|goncalves",
            "Silva",
            "Santos",
            "Oliveira",
            "Souza",
            "Araújo|araujo",
            "Pereira",
            "Conceição|conceicao",
            "Ribeiro",
            "Magalhães|magalhaes",
        ),
        (
            ("São Paulo", "SP", ("Avenida Paulista", "Rua Augusta", "Rua Oscar Freire")),
            (
                "Rio de Janeiro",
                "RJ",
                ("Rua Visconde de Pirajá", "Avenida Atlântica", "Rua do Catete"),
            ),
            ("Belo Horizonte", "MG", ("Avenida Afonso Pena", "Rua da Bahia", "Rua Pernambuco")),
        ),
        "{s}, {n}",
        "#####-###",
        "Ltda.",
        "pix",
    ),
)

COUNTRY_BY_CODE = {c.code: c for c in COUNTRIES}

EMAIL_DOMAINS = (
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
    "inbox.example.net",
    "post.example.org",
)

COMPANY_WORDS = (
    "Media",
    "Studio",
    "Consulting",
    "Logistics",
    "Design",
    "Analytics",
    "Foods",
    "Holdings",
    "Labs",
    "Services",
)

# Hostile values: markup, terminal escapes, bidi overrides, absurd lengths. At least one
# customer in 500 gets one of these as a name (see generator.HOSTILE_EVERY).
HOSTILE_NAMES: tuple[tuple[str, str], ...] = (
    ("[bold red]x[/]", "Markup"),
    ("[b]x[/b]", "[i]Bold[/i]"),
    ("\x1b[31mRed\x1b[0m", "Escape\x1b[2J"),
    ("Hubert" + " Blaine" * 42, "Wolfeschlegelsteinhausenbergerdorff" * 8 + "x" * 20),
    ("\u202eevil\u202c", "مرحبا بالعالم"),
    ("[link=https://evil.example]click[/link]", "Robert'); DROP TABLE customers;--"),
    ("Bell\x07Ring\x08", "Carriage\rReturn\nNewline"),
    ("שלום\u200f", "Zero\u200bWidth\u2066Isolate\u2069"),
)

HOSTILE_TEXT = ("[red]ACME[/red] \x1b[5mblink\x1b[0m", "\u202etxet desrever", "[/]", "%s %n {0}")
