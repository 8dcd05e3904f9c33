"""Which site or category a focused window is: URLs, browser titles and app ids.

Kept apart from the plugin (no ``ctx``, no clock) so the rules can be read and tested
on their own, one title at a time.

Three kinds of evidence, in this order:

1. **App ids** (``apps``): a native client, such as ``org.telegram.desktop``, counts
   for its category whatever its window is called. Compared without regard to case,
   as ``nudged usage`` shows them (app id on Wayland, WM_CLASS on X11).
2. **URLs**, where a source provides them (ActivityWatch's browser buckets): the
   host is matched against each known domain and its subdomains
   (``old.reddit.com`` is ``reddit.com``). When there is a URL it decides alone: a
   tab whose title mentions Reddit but whose URL is a bug tracker is the bug
   tracker.
3. **Browser window titles** otherwise. Browsers put their own name last: "Page
   title — Mozilla Firefox", "Page title - Google Chrome". Once that is taken off,
   the page title usually ends in the site's name ("Lo-fi beats - YouTube"), which a
   table of well-known names turns into a domain; a few sites have other fixed
   forms ("r/linux on Reddit: ...", "Home / X"), which per-site patterns know.
   Only windows that are browsers are read this way (by the title's ending, or by a
   browser's app id); a terminal titled "notes - YouTube" is a terminal.

The site found is the most specific domain that matches (a limit on
``old.reddit.com`` wins over the category's ``reddit.com``); the category is the
first one, in priority order, whose app ids, domains or title patterns match: the
person's own entries first (in the order of their config), then the built-in ones.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "BROWSER_APPS",
    "BUILTIN_CATEGORIES",
    "KNOWN_NAMES",
    "SITE_NAMES",
    "BuiltinCategory",
    "CategoryRules",
    "Matcher",
    "PageTitle",
    "browser_page",
    "host_of",
    "normalize_site",
    "site_within",
]


# --------------------------------------------------------------------------- built-ins


@dataclass(frozen=True)
class BuiltinCategory:
    """A category nudged knows without being told (``social``, ``video``, ``news``)."""

    sites: tuple[str, ...]
    titles: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()


#: Messengers (Telegram, Signal, Discord, Slack, WhatsApp) are deliberately not in
#: ``social``: talking with people is what the ``social_contact`` plugin encourages,
#: and Slack is often work. Add their app ids to a category of your own if they are
#: where the scrolling happens for you.
BUILTIN_CATEGORIES: Mapping[str, BuiltinCategory] = {
    "social": BuiltinCategory(
        sites=("reddit.com", "x.com", "twitter.com", "instagram.com", "facebook.com",
               "tiktok.com", "threads.net", "bsky.app", "linkedin.com", "tumblr.com",
               "pinterest.com", "mastodon.social", "9gag.com"),
        apps=("dev.geopjr.Tuba", "org.kde.tokodon"),
    ),
    "video": BuiltinCategory(
        sites=("youtube.com", "youtu.be", "twitch.tv", "netflix.com", "primevideo.com",
               "disneyplus.com", "hulu.com", "max.com", "vimeo.com", "dailymotion.com"),
        apps=("io.freetubeapp.FreeTube", "FreeTube"),
    ),
    "news": BuiltinCategory(
        sites=("news.ycombinator.com", "news.google.com", "theguardian.com", "nytimes.com",
               "bbc.com", "bbc.co.uk", "cnn.com", "washingtonpost.com", "reuters.com",
               "apnews.com", "foxnews.com", "spiegel.de", "lemonde.fr"),
    ),
}

#: How a site calls itself at the end of its page titles (compared without regard to
#: case), and the domain it stands for.
KNOWN_NAMES: Mapping[str, str] = {
    "reddit": "reddit.com",
    "x": "x.com",
    "twitter": "twitter.com",
    "instagram": "instagram.com",
    "instagram photos and videos": "instagram.com",
    "facebook": "facebook.com",
    "tiktok": "tiktok.com",
    "threads": "threads.net",
    "bluesky": "bsky.app",
    "linkedin": "linkedin.com",
    "tumblr": "tumblr.com",
    "pinterest": "pinterest.com",
    "mastodon": "mastodon.social",
    "9gag": "9gag.com",
    "youtube": "youtube.com",
    "twitch": "twitch.tv",
    "netflix": "netflix.com",
    "prime video": "primevideo.com",
    "disney+": "disneyplus.com",
    "hulu": "hulu.com",
    "vimeo": "vimeo.com",
    "dailymotion": "dailymotion.com",
    "hacker news": "news.ycombinator.com",
    "google news": "news.google.com",
    "the guardian": "theguardian.com",
    "the new york times": "nytimes.com",
    "bbc news": "bbc.com",
    "cnn": "cnn.com",
    "the washington post": "washingtonpost.com",
    "reuters": "reuters.com",
    "ap news": "apnews.com",
    "fox news": "foxnews.com",
    "der spiegel": "spiegel.de",
    "le monde": "lemonde.fr",
    "github": "github.com",
    "wikipedia": "wikipedia.org",
    "stack overflow": "stackoverflow.com",
}

#: Fixed title forms where the site's name is not (only) the last segment.
SITE_PATTERNS: Mapping[str, tuple[str, ...]] = {
    "reddit.com": (r"\bon Reddit: ", r"^Reddit - ", r"(?:^|\s)r/[A-Za-z0-9_]{2,21}$"),
    "x.com": (r" / X$", r" on X: "),
    "twitter.com": (r" / Twitter$", r" on Twitter: "),
    "tiktok.com": (r"^TikTok - ",),
    "facebook.com": (r"^Facebook - ",),
}

#: The names people know sites by, for the words of a nudge.
SITE_NAMES: Mapping[str, str] = {
    "reddit.com": "Reddit", "x.com": "X", "twitter.com": "Twitter",
    "instagram.com": "Instagram", "facebook.com": "Facebook", "tiktok.com": "TikTok",
    "threads.net": "Threads", "bsky.app": "Bluesky", "linkedin.com": "LinkedIn",
    "tumblr.com": "Tumblr", "pinterest.com": "Pinterest", "youtube.com": "YouTube",
    "twitch.tv": "Twitch", "netflix.com": "Netflix", "news.ycombinator.com": "Hacker News",
    "github.com": "GitHub", "wikipedia.org": "Wikipedia",
}

#: "Page title<ending>": the endings browsers add to a window title, with the
#: browser's name. Firefox writes an em dash (older and some localised versions a
#: hyphen); the Chromium family a hyphen, sometimes with "(Incognito)" or "(Private)".
_CHROMIUM_TAIL = r"(?: \((?:Incognito|Private|Guest)\))?"
BROWSER_ENDINGS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern)) for name, pattern in (
        ("Firefox", r"(?:^|\s+[—–-]\s+)(?:Mozilla Firefox|Firefox Developer Edition|"
                    r"Firefox Nightly)(?: Private Browsing)?$"),
        ("LibreWolf", r"(?:^|\s+[—–-]\s+)LibreWolf(?: Private Browsing)?$"),
        ("Chromium", r"(?:^|\s+-\s+)Chromium" + _CHROMIUM_TAIL + "$"),
        ("Google Chrome", r"(?:^|\s+-\s+)Google Chrome(?: (?:Beta|Dev|Canary))?"
                          + _CHROMIUM_TAIL + "$"),
        ("Brave", r"(?:^|\s+-\s+)Brave(?: Browser)?" + _CHROMIUM_TAIL + "$"),
        ("Microsoft Edge", r"(?:^|\s+-\s+)Microsoft ?Edge(?: (?:Beta|Dev|Canary))?"
                           + _CHROMIUM_TAIL + "$"),
        ("Vivaldi", r"(?:^|\s+-\s+)Vivaldi" + _CHROMIUM_TAIL + "$"),
        ("Opera", r"(?:^|\s+-\s+)Opera$"),
        ("qutebrowser", r"(?:^|\s+-\s+)qutebrowser$"),
    )
)

#: App ids (Wayland) and WM_CLASS names (X11) of browsers, for windows whose title has
#: no browser ending (GNOME Web shows the bare page title). Compared in lower case.
BROWSER_APPS: frozenset[str] = frozenset(app.lower() for app in (
    "firefox", "firefox-esr", "org.mozilla.firefox", "navigator", "librewolf",
    "io.gitlab.librewolf-community", "chromium", "chromium-browser", "org.chromium.chromium",
    "google-chrome", "com.google.chrome", "brave-browser", "com.brave.browser",
    "microsoft-edge", "com.microsoft.edge", "vivaldi", "vivaldi-stable", "com.vivaldi.vivaldi",
    "org.gnome.epiphany", "epiphany", "falkon", "org.kde.falkon", "qutebrowser",
    "org.qutebrowser.qutebrowser", "opera", "zen", "app.zen_browser.zen", "floorp",
    "one.ablaze.floorp", "waterfox",
))

#: Between the parts of a page title: "Title - YouTube", "Title | Hacker News",
#: "Name • Instagram", "Home / X". Always with spaces around, so "AC/DC" stays whole.
_SEPARATOR = re.compile(r"\s+[-—–|·•/:]\s+")
#: Unread counters in front: "(3) Home / X", "(12+) Facebook".
_COUNTER = re.compile(r"^\s*[(\[]\d+\+?[)\]]\s*")
#: Invisible characters some titles carry (Edge writes "Microsoft\u200bEdge").
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"), None)
_DOMAIN = re.compile(r"^(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,}$")


def clean(text: str) -> str:
    """NFC, without invisible characters, one space between words."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return " ".join(text.split())


# --------------------------------------------------------------------------- domains


def normalize_site(text: str) -> str | None:
    """``"https://www.Reddit.com/r/x"`` -> ``"reddit.com"``; None if it is no domain.

    People paste URLs as often as they type domains, so a scheme, a path, a port and
    a leading ``www.`` are forgiven; what remains must look like a domain.
    """
    value = text.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    value = value.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    if value.startswith("www."):
        value = value[4:]
    return value if _DOMAIN.match(value) else None


def host_of(url: str) -> str | None:
    """The host of a URL, lower case, or None (``about:blank``, ``file:///``)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.strip(".").lower() if host else None


def site_within(host: str, site: str) -> bool:
    """``host`` is ``site`` or one of its subdomains (``m.youtube.com`` in ``youtube.com``)."""
    return host == site or host.endswith("." + site)


# --------------------------------------------------------------------------- titles


@dataclass(frozen=True)
class PageTitle:
    """A window title read as a browser's: which browser, and the page's own title."""

    browser: str | None  # None: the app is a browser, but its title names none
    page: str


def browser_page(title: str, app: str = "") -> PageTitle | None:
    """The page title inside a browser window's title, or None if it is no browser.

    "Lo-fi beats - YouTube - Chromium" -> PageTitle("Chromium", "Lo-fi beats - YouTube").
    Unread counters in front ("(3) Home / X") are dropped.
    """
    text = clean(title)
    for name, ending in BROWSER_ENDINGS:
        found = ending.search(text)
        if found is not None:
            return PageTitle(name, _COUNTER.sub("", text[: found.start()]).strip())
    if app.strip().lower() in BROWSER_APPS:
        return PageTitle(None, _COUNTER.sub("", text).strip())
    return None


def segments(page: str) -> list[str]:
    """The parts of a page title between separators, in order."""
    return [part.strip() for part in _SEPARATOR.split(page) if part.strip()]


def names_of(site: str) -> list[str]:
    """What a site the person named may call itself at the end of a title: the domain
    itself ("lemmy.world"), and for a plain two-part domain its first part ("lemmy")."""
    names = [site]
    parts = site.split(".")
    if len(parts) == 2 and len(parts[0]) >= 3:
        names.append(parts[0])
    return names


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class CategoryRules:
    """One entry of the priority list: a category's app ids, domains and title patterns
    (the person's own part of a category, or the built-in part)."""

    name: str
    sites: tuple[str, ...] = ()
    titles: tuple[re.Pattern[str], ...] = ()
    apps: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    """What a window is: a category, a site, or both (never neither)."""

    category: str | None
    site: str | None


@dataclass
class Matcher:
    """Every rule, compiled once per config; :meth:`match` is called on focus changes."""

    rules: tuple[CategoryRules, ...]
    #: Domains of limits on single sites (matched even when no category lists them).
    extra_sites: tuple[str, ...] = ()
    _domains: tuple[str, ...] = field(init=False, default=())
    _names: dict[str, str] = field(init=False, default_factory=dict)
    _patterns: tuple[tuple[re.Pattern[str], str], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        domains: dict[str, None] = {}
        for rule in self.rules:
            domains.update(dict.fromkeys(rule.sites))
        domains.update(dict.fromkeys(self.extra_sites))
        self._domains = tuple(domains)
        # The well-known names first ("YouTube" stays youtube.com even if someone adds
        # youtube.de), then names read off the other domains ("lemmy.world", "lemmy").
        names = {name.casefold(): domain for name, domain in KNOWN_NAMES.items()}
        for domain in self._domains:
            if domain in KNOWN_NAMES.values():
                continue
            for name in names_of(domain):
                names.setdefault(name.casefold(), domain)
        self._names = names
        self._patterns = tuple((re.compile(p), domain) for domain, patterns in
                               SITE_PATTERNS.items() for p in patterns)

    @classmethod
    def build(cls, builtin: Mapping[str, BuiltinCategory],
              own: Iterable[tuple[str, Sequence[str], Sequence[str], Sequence[str], bool]],
              extra_sites: Iterable[str] = ()) -> Matcher:
        """Rules from the person's categories ``(name, sites, titles, apps, replace)``,
        in config order, followed by the built-in categories they did not replace."""
        rules: list[CategoryRules] = []
        replaced: set[str] = set()
        for name, sites, titles, apps, replace in own:
            if replace:
                replaced.add(name)
            rules.append(CategoryRules(
                name, tuple(sites), tuple(re.compile(t, re.IGNORECASE) for t in titles),
                frozenset(a.lower() for a in apps)))
        for name, category in builtin.items():
            if name in replaced:
                continue
            rules.append(CategoryRules(
                name, category.sites, tuple(re.compile(t, re.IGNORECASE)
                                            for t in category.titles),
                frozenset(a.lower() for a in category.apps)))
        return cls(tuple(rules), tuple(extra_sites))

    # -- the answer -------------------------------------------------------------------
    def match(self, app: str, title: str, url: str | None) -> Match | None:
        """The category and site of a focused window, or None if it is neither."""
        app_id = app.strip().lower()
        for rule in self.rules:
            if app_id and app_id in rule.apps:
                return Match(rule.name, None)
        if url:
            return self._by_host(host_of(url))
        page = browser_page(title, app)
        if page is None:
            return None
        site = self.site_from_title(page)
        category = None
        for rule in self.rules:
            if site is not None and any(site_within(site, s) for s in rule.sites):
                category = rule.name
                break
            if page.page and any(t.search(page.page) for t in rule.titles):
                category = rule.name
                break
        if category is None and site is None:
            return None
        return Match(category, site)

    def _by_host(self, host: str | None) -> Match | None:
        if not host:
            return None
        matching = [d for d in self._domains if site_within(host, d)]
        if not matching:
            return None
        site = max(matching, key=len)  # the most specific
        category = None
        best = -1
        for rule in self.rules:  # in priority order; a more specific domain wins
            for domain in rule.sites:
                if site_within(host, domain) and len(domain) > best:
                    category, best = rule.name, len(domain)
        return Match(category, site)

    def site_from_title(self, page: PageTitle) -> str | None:
        """The domain a browser's page title names, if any.

        The last segment names the site ("Title - YouTube"); the per-site patterns
        catch the other fixed forms ("r/linux on Reddit: ..."). Microsoft Edge puts
        the profile between page and browser ("Title - YouTube - Personal"), so
        there the segment before the last counts too.
        """
        text = page.page
        if not text:
            return None
        parts = segments(text)
        candidates = parts[-1:]
        if page.browser == "Microsoft Edge" and len(parts) >= 3:
            candidates.append(parts[-2])
        for candidate in candidates:
            domain = self._names.get(_COUNTER.sub("", candidate).casefold())
            if domain is not None:
                return self._known(domain)
        for pattern, domain in self._patterns:
            if pattern.search(text):
                return self._known(domain)
        return None

    def _known(self, domain: str) -> str | None:
        """``domain`` if the rules know it (a category or a limit names it, or a domain
        it belongs to), else None: a well-known name alone does not make a site
        worth counting (GitHub is in the table for limits that name it)."""
        return domain if any(site_within(domain, d) for d in self._domains) else None
