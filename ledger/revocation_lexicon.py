"""The phrases that revoke consent, per language, for the revocation classifier.

Each lexicon holds, in folded text (lower case, no accents, no apostrophes, single spaces):
`signature` (STOP keywords that turn the language on), `stop_words` (words that on their own,
with only `fillers` around them, revoke: "stop please", "basta ya"), `revoking` patterns (plain
revocations in a sentence), `negated` patterns (a revocation word negated: "don't stop"; never
plain, so reviewed) and `doubtful` patterns (might be a revocation: "not interested").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ENGLISH", "LEXICONS", "Lexicon"]


@dataclass(frozen=True, slots=True)
class Lexicon:
    code: str
    signature: frozenset[str]
    stop_words: frozenset[str]
    fillers: frozenset[str]
    revoking: tuple[re.Pattern[str], ...]
    negated: tuple[re.Pattern[str], ...] = ()
    doubtful: tuple[re.Pattern[str], ...] = ()

    def revoking_match(self, padded: str) -> str | None:
        return _first(self.revoking, padded)

    def negated_match(self, padded: str) -> str | None:
        return _first(self.negated, padded)

    def doubtful_match(self, padded: str) -> str | None:
        return _first(self.doubtful, padded)


def _first(patterns: tuple[re.Pattern[str], ...], padded: str) -> str | None:
    for pattern in patterns:
        found = pattern.search(padded)
        if found:
            return found.group(0).strip()
    return None


def _patterns(*sources: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"\b(?:{s})\b") for s in sources)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_EN_CONTACT = (
    r"text|texting|txt|txting|message|messaging|msg|msging|contact|contacting|call|calling|email|"
    r"emailing|spam|spamming|bother|bothering|sms"
)
_EN_THINGS = r"texts?|txts?|messages?|msgs?|sms|spam|promos?|marketing|notifications?|alerts?"

ENGLISH = Lexicon(
    code="en",
    signature=_words("stop stopall unsubscribe cancel end quit revoke optout"),
    stop_words=_words("stop stopall unsubscribe unsub optout revoke"),
    fillers=_words(
        "please pls plz now thanks thank you thx ty it this that all already immediately asap ok "
        "okay just them these seriously right away for good and me yes i said"
    ),
    revoking=_patterns(
        rf"(stop|quit|cease) (the )?({_EN_CONTACT})( me| us| this number| my (number|phone))?",
        r"(stop|quit|cease) (sending|texting|messaging) (me|us|these|this|them|your|any)",
        rf"(dont|do not|never) (ever )?({_EN_CONTACT}) (me|us|this number|my (number|phone))",
        r"(unsubscribe|unsub|opt out|optout|opt me out)",
        r"(remove|delete|erase|take) (me|my (number|phone|info|details|data))( from| off|$| please| now)",
        r"take (me|my number) off",
        r"(off|from) (your|the|this|ur) (list|mailing list|contact list|texting list|sms list)",
        rf"no (more )?({_EN_THINGS})( please| pls| thanks| thank you| ever| again|$)",
        rf"no more ({_EN_THINGS}|ads|offers|deals)",
        rf"(i )?(dont|do not|no longer) want (to (get|receive) )?"
        rf"(any |these |your |this |more |the )*({_EN_THINGS})",
        r"(i )?(dont|do not) want to (be contacted|hear from you)",
        rf"(stop|quit) (these|this|your|the) ({_EN_THINGS})",
        r"leave me alone",
        r"^(sorry |you have (the|a) |this is (the|a) |youve got the |)?wrong (phone )?number"
        r"( sorry| please| pal| buddy| mate)?$",
        r"(i )?(revoke|withdraw) (my )?(consent|permission)",
        r"lose (this|my) number",
    ),
    negated=_patterns(
        r"(dont|do not|never|please dont|not) (stop|unsubscribe|remove me|cancel|opt me out|end)",
    ),
    doubtful=_patterns(
        r"not interested",
        r"(too many|so many|enough) (texts|messages|msgs)",
        r"^enough( already| of this)?$",
        r"(why|how) (are you|do you keep|did you get|do you have) (texting|messaging|my number)",
        r"who is this",
        r"spam",
        r"wrong number",
    ),
)

SPANISH = Lexicon(
    code="es",
    signature=_words("parar baja alto cancelar detener fin"),
    stop_words=_words("parar baja alto detener basta"),
    fillers=_words("por favor ya gracias ahora mismo inmediatamente todo esto eso"),
    revoking=_patterns(
        r"(no|ya no) (me )?(envien|manden|escriban|contacten|llamen|envies|mandes|escribas)( mas)?",
        r"(dejen|deja|dejar) de (enviar|mandar|escribir|contactar|llamar)(me|nos)?",
        r"(dar|darme|denme|deme|dame|quiero) (de )?(la )?baja",
        r"no quiero (recibir )?(mas )?(mensajes|sms|textos|promociones|nada)",
        r"borrenme|quitenme|saquenme|sacarme de la lista",
        r"(borren|eliminen|quiten|saquen) (de la lista|mi numero|de su lista|mis datos)",
        r"no mas (mensajes|sms|textos)",
        r"numero equivocado",
    ),
    negated=_patterns(r"no (me )?(den de baja|quiten|borren)"),
    doubtful=_patterns(r"no me interesa"),
)

FRENCH = Lexicon(
    code="fr",
    signature=_words("arret desabonner desinscrire"),
    stop_words=_words("arret arretez desabonner desinscrire"),
    fillers=_words("svp sil vous plait merci maintenant tout de suite immediatement"),
    revoking=_patterns(
        r"(arretez|arrete|cessez) (de m|d|de me|les|vos) ?"
        r"(envoyer|ecrire|contacter|appeler|messages|sms|textos)",
        r"ne m (envoyez|ecrivez|contactez|appelez) plus",
        r"(desabonnez|desinscrivez|retirez|supprimez|enlevez) moi",
        r"(je veux|je souhaite|veuillez) me (desabonner|desinscrire|retirer)",
        r"supprimez (mon numero|mes donnees)",
        r"plus de (messages|sms|textos)",
        r"je ne veux plus (recevoir|de vos|vos|de messages|de sms)",
        r"mauvais numero",
    ),
    doubtful=_patterns(r"pas interesse"),
)

GERMAN = Lexicon(
    code="de",
    signature=_words("stopp abmelden ende austragen"),
    stop_words=_words("stopp abmelden austragen abbestellen"),
    fillers=_words("bitte danke sofort jetzt alles"),
    revoking=_patterns(
        r"(hort|horen sie) auf (mir )?(zu schreiben|nachrichten|sms|mich zu kontaktieren)",
        r"keine (weiteren )?(nachrichten|sms|werbung) mehr",
        r"(bitte )?(abmelden|austragen|abbestellen)",
        r"(nehmt|nehmen sie) mich (aus|von) (der|eurer|ihrer) liste",
        r"(loscht|loschen sie) (meine nummer|meine daten|mich)",
        r"ich (will|mochte) keine (nachrichten|sms|werbung)",
        r"(schreib|schreibt|schreiben sie) mir nicht mehr",
        r"falsche nummer",
    ),
    doubtful=_patterns(r"kein interesse"),
)

PORTUGUESE = Lexicon(
    code="pt",
    signature=_words("parar sair cancelar descadastrar"),
    stop_words=_words("parar sair descadastrar"),
    fillers=_words("por favor ja obrigado obrigada agora"),
    revoking=_patterns(
        r"(parem|pare) de (enviar|mandar|me enviar|me mandar|escrever|ligar)",
        r"nao (me )?(envie|mande|enviem|mandem|escrevam)(m)? mais",
        r"quero (sair|me descadastrar|cancelar (as|os) (mensagens|sms))",
        r"(me )?(tire|tirem|remova|removam) (da lista|meu numero)",
        r"descadastr(ar|e|em|a)( me)?",
        r"nao quero mais (receber|mensagens|sms)",
        r"numero errado",
    ),
    doubtful=_patterns(r"nao tenho interesse"),
)

ITALIAN = Lexicon(
    code="it",
    signature=_words("basta ferma cancella disiscrivi"),
    stop_words=_words("basta ferma disiscrivi"),
    fillers=_words("per favore grazie ora subito adesso"),
    revoking=_patterns(
        r"(smettete|smetti|smettetela) di (invia|manda|scrive|contatta|chiama)(re|rmi|rci)",
        r"non (mi )?(inviate|mandate|scrivete|contattate) piu",
        r"(cancellatemi|toglietemi|rimuovetemi|disiscrivetemi)",
        r"disiscriv(ermi|ere|etemi)",
        r"non voglio piu (ricevere|messaggi|sms)",
        r"basta (messaggi|sms)",
        r"numero sbagliato",
    ),
    doubtful=_patterns(r"non mi interessa"),
)

LEXICONS: tuple[Lexicon, ...] = (ENGLISH, SPANISH, FRENCH, GERMAN, PORTUGUESE, ITALIAN)
