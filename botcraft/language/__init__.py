"""Language: the one tokenisation of Russian and English text (stems, lemmas, codes) and the
synonym groups read through it, shared by knowledge (indexing, search), dialogue (the
offline composer) and agents (the prompt's Russian genitive, the owner's synonym lines).

Owns no table. May import the core only (it is pure text functions over pymorphy3, PyStemmer
and rapidfuzz).
"""
