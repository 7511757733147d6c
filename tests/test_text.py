"""Text normalisation: TweetEval's rules, and the loose key used to find copies."""

from tweet_sentiment.text import decode_escapes, match_key, normalise, strip_wrapping_quotes


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
