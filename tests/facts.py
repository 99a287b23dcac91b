"""Five short paragraphs with four answerable questions each: small enough to
overfit in a test, shared by the training and evaluation tests."""

FACTS = [
    ("Marie Curie was born in Warsaw in 1867. She won two Nobel Prizes, in physics and chemistry. "
     "Her husband was Pierre Curie.",
     [("Where was Marie Curie born?", "Warsaw"), ("When was Marie Curie born?", "1867"),
      ("How many Nobel Prizes did she win?", "two"), ("Who was her husband?", "Pierre Curie")]),
    ("The Danube flows through Vienna and Budapest before reaching the Black Sea. "
     "It is about 2850 kilometres long.",
     [("Which sea does the Danube reach?", "the Black Sea"), ("How long is the Danube?", "about 2850 kilometres"),
      ("Which capital does the Danube pass first?", "Vienna"), ("Which city comes after Vienna?", "Budapest")]),
    ("Python was created by Guido van Rossum and first released in 1991. "
     "Its name comes from Monty Python, a comedy group.",
     [("Who created Python?", "Guido van Rossum"), ("When was Python released?", "1991"),
      ("Where does the name Python come from?", "Monty Python"), ("What is Monty Python?", "a comedy group")]),
    ("The bakery opens at seven in the morning and closes at noon on Sundays. "
     "Its rye bread costs four euros.",
     [("When does the bakery open?", "seven in the morning"), ("When does it close on Sundays?", "noon"),
      ("What does the rye bread cost?", "four euros"), ("Which bread is mentioned?", "rye bread")]),
    ("Mount Kilimanjaro in Tanzania is 5895 metres high. Hans Meyer reached its summit in 1889.",
     [("How high is Kilimanjaro?", "5895 metres"), ("Where is Kilimanjaro?", "Tanzania"),
      ("Who reached the summit?", "Hans Meyer"), ("When was the summit reached?", "1889")]),
]
