"""Word lists for the generated suite, written for this project.

The lists are disjoint on purpose (no word is both a fruit and a colour, an animal and a food, a name and
a city, ...), so that every rule has exactly one right answer. ``tests/test_suite_lexicon.py`` checks it.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


ANIMALS = _words(
    "cat dog horse cow sheep goat pig rabbit mouse lion tiger bear wolf fox deer zebra giraffe elephant "
    "monkey camel donkey kangaroo koala panda otter beaver squirrel hedgehog badger frog toad snake lizard "
    "turtle crocodile shark whale dolphin octopus penguin eagle owl parrot pigeon beetle spider hamster "
    "ferret llama moose bison"
)
FOODS = _words(
    "bread cheese butter rice pasta pizza soup salad sandwich pancake waffle cookie cake muffin biscuit "
    "noodles porridge yogurt omelette toast burger taco sushi curry stew pie pudding cereal popcorn pretzel "
    "dumpling bagel croissant jam honey chocolate sausage bacon lasagna risotto"
)
FRUITS = _words(
    "apple banana pear plum peach cherry grape mango lemon lime melon kiwi apricot papaya coconut fig "
    "pineapple strawberry raspberry blueberry watermelon nectarine guava"
)
VEHICLES = _words(
    "car bus truck bicycle train tram tractor scooter motorcycle van taxi boat ship canoe yacht airplane "
    "helicopter rocket subway ferry sled wagon ambulance jeep lorry kayak glider"
)
TOOLS = _words(
    "hammer spoon fork knife saw drill wrench shovel rake ladder scissors needle brush broom bucket kettle "
    "ladle stapler pencil ruler screwdriver pliers chisel axe trowel whisk spatula"
)
OBJECTS = _words(
    "chair table lamp basket box bottle book clock umbrella bag bench jar pillow blanket mirror candle "
    "envelope suitcase window cup"
)
COLOURS = _words(
    "red blue green yellow purple pink brown black white grey silver golden crimson turquoise beige maroon "
    "navy teal indigo scarlet"
)
COUNTRIES = _words(
    "France Spain Italy Germany Japan China India Brazil Canada Mexico Egypt Kenya Norway Sweden Finland "
    "Poland Greece Portugal Ireland Iceland Chile Peru Argentina Colombia Australia Vietnam Thailand Nigeria "
    "Morocco Austria Hungary Denmark Belgium Ukraine Romania Indonesia Pakistan Ethiopia Ghana Nepal Cuba"
)
CITIES = _words(
    "Paris London Tokyo Berlin Madrid Rome Cairo Lagos Nairobi Sydney Toronto Chicago Boston Seattle Moscow "
    "Mumbai Delhi Shanghai Beijing Lisbon Dublin Vienna Prague Warsaw Budapest Oslo Stockholm Helsinki Athens "
    "Istanbul Dubai Bangkok Jakarta Manila Lima Bogota Santiago Havana Montreal Melbourne Munich Milan Naples "
    "Barcelona"
)
NAMES = _words(
    "Alice Ben Carlos Dana Elena Farid Grace Hiro Ines Jonas Kofi Lena Mateo Nora Omar Priya Quentin Ravi "
    "Sofia Tariq Uma Viktor Wen Yusuf Zara Amara Bruno Chloe Diego Emma Felix Hana Ivan Julia Kenji Leila "
    "Marco Nadia Oscar Paula"
)
DAYS = _words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
MONTHS = _words("January February March April May June July August September October November December")
POSITIVE = _words(
    "wonderful delightful excellent cheerful pleasant lovely brilliant superb charming joyful graceful "
    "marvelous splendid generous gentle friendly kind honest brave elegant fantastic glorious hopeful "
    "peaceful radiant thoughtful adorable admirable terrific delicious"
)
NEGATIVE = _words(
    "awful terrible horrible dreadful nasty miserable gloomy rude cruel boring dull filthy hostile bitter "
    "clumsy greedy lazy selfish tedious ugly vile wretched grim harsh dismal painful annoying arrogant "
    "cowardly hideous"
)

# Aspect sentiment (restaurant reviews): subject nouns and adjectives for each aspect.
FOOD_SUBJECTS = _words("food soup pasta dessert bread curry")
FOOD_GOOD = _words("delicious tasty fresh flavorful superb excellent")
FOOD_BAD = _words("bland stale cold greasy awful tasteless")
SERVICE_SUBJECTS = ("waiter", "staff", "service", "host", "cashier")
SERVICE_GOOD = _words("friendly quick attentive polite helpful welcoming")
SERVICE_BAD = _words("rude slow careless unfriendly sloppy dismissive")

# Opinion verbs (past tense) for the two-person sentiment family.
LIKE_VERBS = _words("loved enjoyed adored praised liked admired")
DISLIKE_VERBS = _words("hated disliked despised criticized loathed resented")
EVENTS = _words("film concert book play exhibition game lecture trip meal show")
PLACES = _words("garden station river market bridge library park harbour square beach")
REVIEWED = _words("movie hotel concert meal book room show trip album museum")

# General words for the string-property families, kept apart from the category lists above so that a
# word used by a held-out string family can never reappear as a training input of a category family.
_GENERAL = _words(
    "anchor arrow atlas ocean island igloo echo engine oven orbit idea opera area acorn album ankle attic "
    "autumn award insect iron ivory oasis onion piano radio tomato potato banjo cello zero hero menu tofu "
    "sofa camera drama comma cinema tuba villa toffee recipe flute globe stone house smile balloon carrot "
    "puppy moss grass hill doll cliff moon wood door floor pool roof foot button cotton ribbon summit lesson "
    "cannon gallon dollar hobby lobby hoop tooth passport coffin ballad bubble happy funny sunny silly jolly "
    "tall small wall mall cross glass class boss bloom groom noon stool wool zoo shampoo bamboo kettlebell "
    "letter summer winter coffee street sheep green teeth sleep tree bottle apple yellow little middle "
    "garden planet forest desert river valley castle tower bridge harbor market school office doctor "
    "pilot farmer singer dancer writer artist garden candle pocket jacket helmet basket window mountain "
    "volcano canyon meadow pebble marble puzzle riddle rhythm crystal lantern compass blanket whistle "
    "thunder lightning rainbow shadow silence journey voyage victory mystery history wisdom freedom "
    "courage harmony balance pattern circle square triangle number letter symbol signal rocket "
    "ego ozone avocado antenna agenda arena aroma audio extra encore office image imagine include invite "
    "unite issue outside octave orchestra oregano umpire unique universe entire estate escape example "
    "exercise exile anecdote airline alone adore awake alike ample ukulele antique article answer apron "
    "urban upset input output oxygen inch effort exit event expert object ink oak elm arm oath street "
    "speech committee address success essay mess dress press chess cattle battle settle kitten mitten "
    "written better matter ladder rubber pepper hello jelly belly berry queen seed weed feet sheet greet "
    "wheel steel cheek week beet"
)
_CATEGORY_WORDS = frozenset(
    ANIMALS + FOODS + FRUITS + VEHICLES + TOOLS + OBJECTS + COLOURS + POSITIVE + NEGATIVE
)
WORD_POOL: tuple[str, ...] = tuple(sorted(set(_GENERAL) - _CATEGORY_WORDS))
