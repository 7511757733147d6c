"""Text normalisation: TweetEval's rules, and the loose key used to find copies."""

import json
from pathlib import Path

import emoji
import pytest

from tweet_sentiment.core.text import (
    UNTONED_NAMES,
    decode_escapes,
    has_emoji,
    match_key,
    normalise,
    strip_wrapping_quotes,
)


def test_normalise_follows_tweeteval():
    tweet = "@TheEllenShow loved it!!  see https://t.co/abc and http://x.y #fun"
    assert normalise(tweet) == "@user loved it!! see http and http #fun"


def test_html_entities_are_decoded_once_and_for_all():
    assert normalise("Tom &amp; Jerry &lt;3 &quot;ok&quot; &gt;&gt;") == 'Tom & Jerry <3 "ok" >>'
    # a real 2015 training tweet, escaped three times over
    tripled = "The Beatles for personal &amp;amp;amp; professional reasons"
    assert normalise(tripled) == "The Beatles for personal & professional reasons"
    assert normalise(normalise(tripled)) == normalise(tripled)  # evaluate re-normalises prepared text


def test_lone_at_sign_is_kept_and_any_http_prefix_is_a_link():
    assert normalise("meet me @ 5 httpx") == "meet me @ 5 http"  # TweetEval's startswith rule


def test_decode_escapes_from_2013_files():
    raw = r"Theo Walcott is still shit\u002c watch Rafa \u2019s team"
    assert decode_escapes(raw) == "Theo Walcott is still shit, watch Rafa \u2019s team"


def test_strip_wrapping_quotes_only_strips_a_wrapping_pair():
    assert strip_wrapping_quotes('"He said ""hi"" today"') == 'He said "hi" today'
    assert strip_wrapping_quotes('a "quote" inside') == 'a "quote" inside'


def test_match_key_equates_real_copies_across_sources():
    pool = "Dark Souls 3 April Launch Date Confirmed With New Trailer: Embrace the darkness. https://t.co/V3rMmdpkPj"
    tweeteval = "Dark Souls 3 April Launch Date Confirmed With New Trailer: Embrace the darkness. "
    assert match_key(pool) == match_key(tweeteval)
    assert match_key("Eric Church &amp; co") == match_key("eric church & co")
    assert match_key("I like it") != match_key("I don't like it")


def test_emoji_become_words_the_tokenizer_knows():
    assert normalise("I am 😍") == "I am smiling face with heart-eyes"
    assert normalise("I am 😡") == "I am enraged face"
    assert normalise("😍😍😍") != normalise("😡😡😡")
    assert (normalise("❤️"), normalise("❤"), normalise("💔")) == ("red heart", "red heart", "broken heart")
    assert normalise("👍🏽 nice") == normalise("👍 nice") == "thumbs up nice"  # skin tone dropped
    assert normalise("us 👨\u200d👩\u200d👧!") == "us family man woman girl !"  # a ZWJ sequence is one emoji
    assert normalise("@bob😂 so true") == "@user face with tears of joy so true"  # no longer part of the handle
    assert normalise("fine :) <3 :( ♡") == "fine :) <3 :( ♡"  # emoticons and non-emoji symbols stay as typed


INVISIBLE_ONLY = ["&nbsp;", "&#32;&#32;", "\u200b", "\ufeff", "\u00ad", "\u0000", "\u200d\u2060", ' "" ']


@pytest.mark.parametrize("text", INVISIBLE_ONLY)
def test_text_that_is_invisible_once_decoded_normalises_to_nothing(text: str):
    assert normalise(text) == ""


def test_invisible_characters_never_glue_to_a_word():
    assert normalise("@bob\u200bawful") == "@user awful"  # a zero-width space is a word break
    assert normalise("\ufeff@bob great") == "@user great"  # a BOM no longer hides the handle
    assert normalise("won\u00adderful \u202ahttps://t.co/x\u202c") == "wonderful http"  # soft hyphen, bidi marks
    assert normalise("a\u0000b\tc\x7f") == "ab c"
    # A bidi mark or BOM between words is a word break; joiners inside a word are not.
    assert normalise("hi\u200e@bob") == "hi @user"
    assert normalise("see\ufeffhttps://t.co/x") == "see http"
    assert normalise("@\u2060bob said") == "@user said"  # a word joiner that kept a mention from notifying


def test_wrapping_quotes_go_on_every_split_inner_quotes_stay():
    assert normalise('"He said ""hi"" today" ') == 'He said "hi" today'
    assert normalise('a "quote" inside') == 'a "quote" inside'
    assert normalise('"""nested"""') == "nested"


@pytest.mark.parametrize(
    "text", ['"""x"""', "&am\u00adp;amp; ok", "😂&#128514;", '\ufeff"hi"', "&quot;&quot;quoted&quot;&quot;", "@😡x"]
)
def test_normalising_twice_changes_nothing(text: str):
    assert normalise(normalise(text)) == normalise(text)


def test_has_emoji_counts_what_the_emoji_package_counts():
    texts = ["ok 😂", "ok", "ok ♡", "café", "#️⃣ keycap", ":)", "ok &#128514;", "1 café"]
    assert [has_emoji(text) for text in texts] == [True, False, False, False, True, False, True, False]


PUBLIC_REPORTS = Path(__file__).parent / "public_reports"  # inputs from public bug reports (its README)


def _tweets(name: str) -> list[str]:
    return json.loads((PUBLIC_REPORTS / name).read_text(encoding="utf-8"))["tweets"]


def test_two_tone_sequences_read_as_their_untoned_emoji():  # 08, carpedm20/emoji#204
    handshake_toned, couple_toned, handshake, couple = _tweets("08-skin-tone-zwj.json")
    assert normalise(handshake_toned) == normalise(handshake) == "deal handshake"
    assert normalise(couple_toned) == normalise(couple) == "us couple with heart"
    assert normalise("a 🏻 lone tone") == "a lone tone"


def test_every_toned_emoji_has_an_untoned_name():
    toned = [sequence for sequence in emoji.EMOJI_DATA if any("\U0001f3fb" <= c <= "\U0001f3ff" for c in sequence)]
    untoned_names = {data["en"] for sequence, data in emoji.EMOJI_DATA.items() if sequence not in toned}
    lone_tones = {chr(c) for c in range(0x1F3FB, 0x1F400)}
    unresolved = [s for s in toned if s not in lone_tones and UNTONED_NAMES[s] not in untoned_names]
    assert len(toned) > 2000 and unresolved == []
    assert all(UNTONED_NAMES[tone] == "" for tone in lone_tones)


def test_references_to_surrogate_halves_decode_to_the_emoji_they_spell():  # 09, html-agility-pack#323
    halves, whole = _tweets("09-surrogate-entities.json")
    assert normalise(halves) == normalise(whole) == "so happy face with tears of joy"
    assert has_emoji(halves)
    assert normalise("&#xD83D;&#xde02; &amp;#55357;&amp;#56834;") == "face with tears of joy face with tears of joy"
    assert normalise("&#65;&#55357;&#56834;&#66;") == "A face with tears of joy B"  # pairs found inside a run
    assert normalise("&#56834;&#55357; x") == "\ufffd\ufffd x"  # halves in the wrong order stay invalid (HTML 5)


def test_styled_letters_read_as_plain_ones_and_letterlike_emoji_stay_emoji():
    styled = "𝗯𝗼𝗹𝗱 𝘪𝘵𝘢𝘭𝘪𝘤 ｆｕｌｌｗｉｄｔｈ ①② ﬁne"  # noqa: RUF001 (look-alike letters are the point)
    assert normalise(styled) == "bold italic fullwidth 12 fine"
    assert normalise("wait… ＠bob ！") == "wait… ＠bob ！"  # punctuation keeps its form: the tokenizer knows `…`  # noqa: RUF001
    letterlike = "ℹ️ ™️ ™"  # noqa: RUF001
    assert normalise(letterlike) == "information trade mark trade mark"  # emoji first, so NFKC never sees them
