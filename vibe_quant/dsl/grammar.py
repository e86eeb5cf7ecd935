"""Condition grammar: hand-written tokenizer and recursive-descent parser.

No ``eval``/``exec`` and no Python ``ast``: the text is tokenized here and turned into the
dataclasses of :mod:`vibe_quant.dsl.expr`.

EBNF (keywords are case-sensitive, lower case)::

    condition  = or_cond ;
    or_cond    = and_cond , { "or" , and_cond } ;
    and_cond   = not_cond , { "and" , not_cond } ;
    not_cond   = "not" , not_cond | atom_cond ;
    atom_cond  = "(" , condition , ")" | predicate ;
    predicate  = expr , ( cmp_op , expr
                        | ( "crosses_above" | "crosses_below" ) , expr
                        | "between" , expr , [ "and" ] , expr ) ;
    cmp_op     = ">" | "<" | ">=" | "<=" ;
    expr       = term , { ( "+" | "-" ) , term } ;
    term       = unary , { ( "*" | "/" ) , unary } ;
    unary      = "-" , unary | primary ;
    primary    = number | param | call | series | "(" , expr , ")" ;
    call       = function , "(" , expr , { "," , expr } , ")" ;
    function   = "abs" | "min" | "max" | "exp" | "log" | "sqrt" | "clip" ;
    series     = ident , [ "." , ident ] , [ "@" , timeframe ] , [ "[" , integer , "]" ] ;
    timeframe  = digits , ( "m" | "h" | "d" ) ;   (only after a price field: close@1h)
    param      = "$" , ident ;
    ident      = letter_or_underscore , { letter_or_underscore | digit } ;
    number     = digits , [ "." , digits ] , [ exponent ] | "." , digits , [ exponent ] ;

Precedence, loosest first: ``or`` < ``and`` < ``not`` < comparison/cross/between < ``+ -`` <
``* /`` < unary ``-``.  Comparisons do not chain (``a < b < c`` is an error; use ``between``).
A ``series`` without a dot that names a price field (open high low close volume hl2 hlc3 ohlc4)
is a :class:`~vibe_quant.dsl.expr.PriceRef`; anything else is an
:class:`~vibe_quant.dsl.expr.IndicatorRef` resolved later by semantic validation.
A price field followed by ``@tf`` (``close@1h``, ``high@4h[1]``) is the field of the last
CLOSED bar of that higher timeframe of the traded symbol: an
:class:`~vibe_quant.dsl.expr.IndicatorRef` named ``"@1h"`` with the field as its output.
A name directly followed by ``(`` is a function call (:class:`~vibe_quant.dsl.expr.Call`);
only the functions of :data:`~vibe_quant.dsl.expr.FUNCTIONS` exist, each with a fixed arity
(checked here, so an unknown function or a wrong argument count is reported with its position).
Method calls (``rsi.shift(1)``) are not part of the language; the error suggests ``rsi[1]``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from vibe_quant.core.errors import StrategyDefinitionError
from vibe_quant.dsl.expr import (
    FUNCTIONS,
    All,
    AnyOf,
    Between,
    BinOp,
    Call,
    Compare,
    Condition,
    Cross,
    IndicatorRef,
    Neg,
    Not,
    Number,
    Operand,
    ParamRef,
    PriceRef,
)
from vibe_quant.dsl.registry import PRICE_FIELDS, lookup

KEYWORDS = frozenset({"and", "or", "not", "between", "crosses_above", "crosses_below"})
MAX_OFFSET = 1000
MAX_LENGTH = 2000
MAX_NESTING = 20
_OPERAND = "an operand (indicator, price field, number, $parameter or function call)"
_FUNC_LIST = ", ".join(FUNCTIONS)
#: spellings of the predicate keywords in other libraries (qtpylib, pandas-ta, Pine) -> ours
KEYWORD_SYNONYMS = {
    "crossed_above": "crosses_above", "crossed_below": "crosses_below",
    "cross_above": "crosses_above", "cross_below": "crosses_below",
    "crossover": "crosses_above", "crossunder": "crosses_below",
    "cross_over": "crosses_above", "cross_under": "crosses_below",
    "crosses_over": "crosses_above", "crosses_under": "crosses_below",
    "crossed_over": "crosses_above", "crossed_under": "crosses_below",
    "crossabove": "crosses_above", "crossbelow": "crosses_below",
}
_PREDICATE_WORDS = ("crosses_above", "crosses_below", "between")
#: other spellings of our functions (numpy, C, spreadsheets) -> ours
FUNCTION_SYNONYMS = {
    "ln": "log", "fabs": "abs", "clamp": "clip", "maximum": "max", "minimum": "min",
    "fmax": "max", "fmin": "min", "amax": "max", "amin": "min",
}


class ConditionSyntaxError(StrategyDefinitionError, ValueError):
    """A condition string does not follow the grammar (still a ``ValueError``).

    Attributes:
        message: what is wrong (``str(e)`` adds `` at character <offset + 1>``).
        offset: 0-based character offset in the condition text.
        expected: what the parser would have accepted there.
        code: ``"syntax"``, ``"unknown-function"`` or ``"bad-arity"``.
    """

    message: str = ""  # an attribute here (the base class derives it from str(e))

    def __init__(self, message: str, offset: int, expected: str | None = None,
                 code: str = "syntax"):
        super().__init__(f"{message} at character {offset + 1}", offset=offset)
        self.message = message
        self.offset = offset
        self.expected = expected
        self.code = code  # "syntax", "unknown-function" or "bad-arity"


@dataclass(frozen=True)
class Token:
    kind: str  # NUM IDENT PARAM OP KW LPAREN RPAREN LBRACK RBRACK DOT COMMA END
    text: str
    start: int
    end: int


_TWO_CHAR = {">=", "<=", "==", "!=", "=>", "=<", "&&", "||"}
_ONE_CHAR = {">": "OP", "<": "OP", "+": "OP", "-": "OP", "*": "OP", "/": "OP",
             "(": "LPAREN", ")": "RPAREN", "[": "LBRACK", "]": "RBRACK", ".": "DOT",
             ",": "COMMA"}
_BAD_OPS = {
    "==": "'==' is not supported; use 'between' or '>=' and '<='",
    "!=": "'!=' is not supported",
    "=>": "write '>=' instead of '=>'",
    "=<": "write '<=' instead of '=<'",
    "&&": "write 'and' instead of '&&'",
    "||": "write 'or' instead of '||'",
}


def _is_ident_start(c: str) -> bool:
    return c.isascii() and (c.isalpha() or c == "_")


def _is_ident_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def tokenize(text: str) -> list[Token]:
    """Split a condition into tokens; raises :class:`ConditionSyntaxError` on a bad character."""
    toks: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i
            while j < n and text[j].isdigit():
                j += 1
            if j < n and text[j] == ".":
                j += 1
                if j >= n or not text[j].isdigit():
                    raise ConditionSyntaxError("malformed number", i, "digits after '.'")
                while j < n and text[j].isdigit():
                    j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isdigit():
                    while k < n and text[k].isdigit():
                        k += 1
                    j = k
                else:
                    raise ConditionSyntaxError("malformed number", i, "digits after the exponent")
            if j < n and _is_ident_start(text[j]):
                raise ConditionSyntaxError(f"malformed number '{text[i:j + 1]}'", i,
                                           "a number or a name (names cannot start with a digit)")
            toks.append(Token("NUM", text[i:j], i, j))
            i = j
            continue
        if _is_ident_start(c):
            j = i + 1
            while j < n and _is_ident_char(text[j]):
                j += 1
            word = text[i:j]
            toks.append(Token("KW" if word in KEYWORDS else "IDENT", word, i, j))
            i = j
            continue
        if c == "$":
            j = i + 1
            if j >= n or not _is_ident_start(text[j]):
                raise ConditionSyntaxError("'$' must be followed by a parameter name", i,
                                           "$name")
            while j < n and _is_ident_char(text[j]):
                j += 1
            toks.append(Token("PARAM", text[i + 1:j], i, j))
            i = j
            continue
        two = text[i:i + 2]
        if two in _TWO_CHAR:
            if two in _BAD_OPS:
                raise ConditionSyntaxError(_BAD_OPS[two], i)
            toks.append(Token("OP", two, i, i + 2))
            i += 2
            continue
        if c in _ONE_CHAR:
            toks.append(Token(_ONE_CHAR[c], c, i, i + 1))
            i += 1
            continue
        if c == "@":
            j = i + 1
            while j < n and _is_ident_char(text[j]):
                j += 1
            if j == i + 1:
                raise ConditionSyntaxError("'@' must be followed by a timeframe", i,
                                           "a timeframe such as close@1h")
            toks.append(Token("AT", text[i + 1:j], i, j))
            i = j
            continue
        if c == "=":
            raise ConditionSyntaxError("'=' is not an operator here", i,
                                       "one of > < >= <= crosses_above crosses_below between")
        raise ConditionSyntaxError(f"unexpected character {c!r}", i)
    toks.append(Token("END", "", n, n))
    depth = 0
    for t in toks:
        depth += (t.kind == "LPAREN") - (t.kind == "RPAREN")
        if depth > MAX_NESTING:
            raise ConditionSyntaxError(f"more than {MAX_NESTING} nested parentheses", t.start)
    return toks


def _describe(tok: Token) -> str:
    return "end of condition" if tok.kind == "END" else f"'{tok.text}'"


_PRED_FOLLOW = {">", "<", ">=", "<=", "+", "-", "*", "/"}


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.furthest: ConditionSyntaxError | None = None

    # -- helpers --------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def take(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def error(self, message: str, tok: Token | None = None,
              expected: str | None = None) -> ConditionSyntaxError:
        tok = tok or self.tok
        return ConditionSyntaxError(message, tok.start, expected)

    def expect(self, kind: str, text: str, what: str) -> Token:
        if not self.at(kind, text):
            raise self.error(f"expected {what}, found {_describe(self.tok)}", expected=what)
        return self.take()

    # -- conditions -----------------------------------------------------------------------
    def parse(self) -> Condition:
        if self.tok.kind == "END":
            raise self.error("empty condition", expected="a condition such as 'rsi < 30'")
        node = self.or_cond()
        if not self.at("END"):
            t = self.tok
            if t.kind == "OP" and t.text in (">", "<", ">=", "<="):
                raise self.error(f"unexpected '{t.text}': comparisons do not chain",
                                 expected="'and' between comparisons, or 'x between lo hi'")
            raise self.error(f"unexpected {_describe(t)}",
                             expected="'and', 'or' or the end of the condition")
        return node

    def or_cond(self) -> Condition:
        start = self.tok.start
        items = [self.and_cond()]
        while self.at("KW", "or"):
            self.take()
            items.append(self.and_cond())
        if len(items) == 1:
            return items[0]
        return AnyOf(tuple(items), (start, self.toks[self.i - 1].end))

    def and_cond(self) -> Condition:
        start = self.tok.start
        items = [self.not_cond()]
        while self.at("KW", "and"):
            self.take()
            items.append(self.not_cond())
        if len(items) == 1:
            return items[0]
        return All(tuple(items), (start, self.toks[self.i - 1].end))

    def not_cond(self) -> Condition:
        if self.at("KW", "not"):
            t = self.take()
            item = self.not_cond()
            return Not(item, (t.start, self.toks[self.i - 1].end))
        return self.atom_cond()

    def atom_cond(self) -> Condition:
        if self.at("LPAREN"):
            save = self.i
            try:
                self.take()
                node = self.or_cond()
                self.expect("RPAREN", ")", "')'")
                nxt = self.tok
                if not ((nxt.kind == "OP" and nxt.text in _PRED_FOLLOW)
                        or (nxt.kind == "KW" and nxt.text in
                            ("between", "crosses_above", "crosses_below"))):
                    return node
            except ConditionSyntaxError as exc:
                self._remember(exc)
            self.i = save
        try:
            return self.predicate()
        except ConditionSyntaxError as exc:
            self._remember(exc)
            assert self.furthest is not None
            raise self.furthest from None

    def _remember(self, exc: ConditionSyntaxError) -> None:
        if self.furthest is None or exc.offset >= self.furthest.offset:
            self.furthest = exc

    def predicate(self) -> Condition:
        start = self.tok.start
        left = self.expr()
        t = self.tok
        if t.kind == "OP" and t.text in (">", "<", ">=", "<="):
            self.take()
            right = self.expr()
            return Compare(t.text, left, right, (start, self.toks[self.i - 1].end))  # type: ignore[arg-type]
        if t.kind == "KW" and t.text in ("crosses_above", "crosses_below"):
            self.take()
            right = self.expr()
            direction = "above" if t.text == "crosses_above" else "below"
            return Cross(direction, left, right, (start, self.toks[self.i - 1].end))
        if t.kind == "KW" and t.text == "between":
            self.take()
            low = self.expr()
            if self.at("KW", "and"):
                self.take()
            high = self.expr()
            return Between(left, low, high, (start, self.toks[self.i - 1].end))
        hint = ""
        if t.kind == "IDENT":
            word = KEYWORD_SYNONYMS.get(t.text.lower())
            if word is None:
                close = difflib.get_close_matches(t.text.lower(), _PREDICATE_WORDS, 1, 0.75)
                word = close[0] if close else None
            if word is not None:
                hint = f" (did you mean '{word}'?)"
        raise self.error(
            f"expected a comparison after the operand, found {_describe(t)}{hint}",
            expected="one of > < >= <= crosses_above crosses_below between",
        )

    # -- arithmetic -----------------------------------------------------------------------
    def expr(self) -> Operand:
        start = self.tok.start
        node = self.term()
        while self.tok.kind == "OP" and self.tok.text in ("+", "-"):
            op = self.take().text
            right = self.term()
            node = BinOp(op, node, right, (start, self.toks[self.i - 1].end))  # type: ignore[arg-type]
        return node

    def term(self) -> Operand:
        start = self.tok.start
        node = self.unary()
        while self.tok.kind == "OP" and self.tok.text in ("*", "/"):
            op = self.take().text
            right = self.unary()
            node = BinOp(op, node, right, (start, self.toks[self.i - 1].end))  # type: ignore[arg-type]
        return node

    def unary(self) -> Operand:
        if self.at("OP", "-"):
            t = self.take()
            inner = self.unary()
            if isinstance(inner, Number):
                return Number(-inner.value, (t.start, inner.span[1]))
            return Neg(inner, (t.start, self.toks[self.i - 1].end))
        return self.primary()

    def primary(self) -> Operand:
        t = self.tok
        if t.kind == "NUM":
            self.take()
            value: float | int = float(t.text) if any(c in t.text for c in ".eE") else int(t.text)
            return Number(value, (t.start, t.end))
        if t.kind == "PARAM":
            self.take()
            return ParamRef(t.text, (t.start, t.end))
        if t.kind == "LPAREN":
            self.take()
            node = self.expr()
            self.expect("RPAREN", ")", "')'")
            return node
        if t.kind == "IDENT":
            self.take()
            if self.at("LPAREN"):
                return self.call(t)
            output = None
            end = t.end
            if self.at("DOT"):
                self.take()
                if not self.at("IDENT"):
                    raise self.error(f"expected an output name after '{t.text}.'",
                                     expected="an output name such as 'signal'")
                out_tok = self.take()
                output, end = out_tok.text, out_tok.end
                if self.at("LPAREN"):
                    raise self.method_call(t, out_tok)
            htf = None
            if self.at("AT"):
                at = self.tok
                if output is not None or t.text not in PRICE_FIELDS:
                    raise self.error(f"'@{at.text}' only follows a price field of the traded "
                                     "symbol (close@1h); declare an indicator with "
                                     f"timeframe: {at.text} for anything else",
                                     expected="open high low close volume hl2 hlc3 ohlc4 "
                                     "followed by @timeframe")
                self.take()
                htf, end = at.text, at.end
            offset = 0
            if self.at("LBRACK"):
                self.take()
                num = self.tok
                if num.kind != "NUM" or not num.text.isdigit():
                    raise self.error("expected a whole number of bars inside [ ]",
                                     expected=f"an integer 0..{MAX_OFFSET}")
                self.take()
                offset = int(num.text)
                if offset > MAX_OFFSET:
                    raise ConditionSyntaxError(f"look-back [{offset}] is too far", num.start,
                                               f"an integer 0..{MAX_OFFSET}")
                end = self.expect("RBRACK", "]", "']'").end
            if htf is not None:
                return IndicatorRef("@" + htf, t.text, offset, (t.start, end))
            if output is None and t.text in PRICE_FIELDS:
                return PriceRef(t.text, offset, (t.start, end))
            return IndicatorRef(t.text, output, offset, (t.start, end))
        if t.kind == "KW":
            raise self.error(f"keyword '{t.text}' cannot be used as an operand", expected=_OPERAND)
        raise self.error(f"expected {_OPERAND}, found {_describe(t)}", expected=_OPERAND)

    # -- function calls -------------------------------------------------------------------
    def call(self, name: Token) -> Operand:
        """``name(arg, ...)`` with the '(' as the current token; arity checked here."""
        func = name.text
        if func not in FUNCTIONS:
            lower = func.lower()
            if lower in FUNCTIONS:
                hint = f" (did you mean '{lower}'? function names are lower case)"
            elif lookup(func) is not None:
                hint = (f"; '{func}' is an indicator type: declare it under indicators "
                        f"(e.g. my_{lower}: {{type: {lower}}}) and use its name here")
            elif lower in FUNCTION_SYNONYMS:
                hint = f" (did you mean '{FUNCTION_SYNONYMS[lower]}'?)"
            else:
                close = difflib.get_close_matches(lower, list(FUNCTIONS), 1, 0.75)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConditionSyntaxError(f"unknown function '{func}'{hint}", name.start,
                                       f"one of the functions {_FUNC_LIST}",
                                       code="unknown-function")
        lo, hi, sig, _ = FUNCTIONS[func]
        self.take()  # (
        args: list[Operand] = []
        if not self.at("RPAREN"):
            args.append(self.expr())
            while self.at("COMMA"):
                self.take()
                args.append(self.expr())
        end = self.expect("RPAREN", ")", "',' or ')'").end
        n = len(args)
        if n < lo or (hi is not None and n > hi):
            want = (f"{lo}" if lo == hi else f"at least {lo}") + \
                (" argument" if lo == hi == 1 else " arguments")
            raise ConditionSyntaxError(
                f"{func}() takes {want}, got {n}", name.start, sig, code="bad-arity")
        return Call(func, tuple(args), (name.start, end))

    def method_call(self, obj: Token, meth: Token) -> ConditionSyntaxError:
        """Error for ``x.method(...)``: not supported; ``shift(n)`` → ``x[n]``."""
        if meth.text == "shift":
            self.take()  # (
            n = self.tok
            k = n.text if n.kind == "NUM" and n.text.isdigit() else "n"
            return ConditionSyntaxError(
                f"method calls are not supported ('{obj.text}.shift(...)'); "
                f"write {obj.text}[{k}] for the value {k} bar{'' if k == '1' else 's'} ago",
                obj.start,
                f"{obj.text}[{k}]")
        return ConditionSyntaxError(
            f"method calls are not supported ('{obj.text}.{meth.text}(...)')", obj.start,
            f"an operand such as {obj.text}, {obj.text}[1], or a function ({_FUNC_LIST})")


def parse_condition(text: str) -> Condition:
    """Parse one condition string into an AST.

    Raises:
        ConditionSyntaxError: with ``offset`` (0-based) and ``expected``.
    """
    if len(text) > MAX_LENGTH:
        raise ConditionSyntaxError(f"condition longer than {MAX_LENGTH} characters", MAX_LENGTH)
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise ConditionSyntaxError("condition nested too deeply", 0) from None
