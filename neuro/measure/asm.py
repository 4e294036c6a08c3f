"""Facts read from x86-64 machine code (AT&T syntax, as Numba's `inspect_asm` prints it): which loops it has,
and in its hottest loop, how wide the vector registers are and how many multiply-adds each instruction does.

Pure functions over the text, so that they can be tested on hand-written snippets of each instruction set:

    functions(asm)      the functions of an assembly listing, by symbol
    loops(lines)        every loop of a function: a label and the backward jump that returns to it
    facts(lines)        what a stretch of instructions does: register width, FMAs, packed or scalar, adds, exp
    hottest_loop(lines) the innermost loop that does the most multiply-adds (else arithmetic), and its facts

Terms. A packed instruction (…pd, …ps) works on every lane of a vector register at once: a 128-bit xmm
register holds 2 float64 or 4 float32 numbers, a 256-bit ymm 4 or 8, a 512-bit zmm 8 or 16. A scalar one
(…sd, …ss) works on the lowest lane only. A fused multiply-add (vfmadd…) computes a*b+c in one instruction.
"Multiply-adds" counts lanes: one packed vfmadd231pd on ymm registers is 4 float64 multiply-adds. Where a loop
multiplies and adds in two instructions (no FMA on the host, or no contraction allowed), a multiply-add is an
add (or subtract) that takes the product of a multiply before it, read from the registers the instructions name
(AT&T syntax: the destination is the last operand); a multiply whose product is not added (an elementwise
product, a scaling) counts as a multiply only, and an add of no product as an add only.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

WIDTHS = {"xmm": 128, "ymm": 256, "zmm": 512}
LANE_BITS = {"d": 64, "s": 32}  # (the last letter of pd/ps/sd/ss: double or single precision)

SYMBOL = re.compile(r"^([A-Za-z_$][\w$.@]*):")
LABEL = re.compile(r"^(\.?[\w$.@]+):")
JUMP = re.compile(r"^\s*j[a-z]+\s+(\.?[\w$.@]+)\s*$")
INSTRUCTION = re.compile(r"^\s+([a-z][a-z0-9]*)\b(.*)$")
REGISTER = re.compile(r"%(xmm|ymm|zmm)\d+")
REGISTER_NUMBER = re.compile(r"%[xyz]mm(\d+)")
"""(xmm3, ymm3 and zmm3 are the low 128, 256 and all 512 bits of one register: the number names it)"""
FMA = re.compile(r"^vf(n?m(add|sub)|maddsub|msubadd)\d*(p|s)(d|s)$")
ARITHMETIC = re.compile(r"^v?(add|sub|mul|div|sqrt|max|min)(p|s)(d|s)$")
EXP_CALL = re.compile(r"\b(?P<symbol>__svml_\w*exp\w*|exp[f]?(@PLT)?|__exp\w*)\b")
PREFETCH = re.compile(r"^prefetch")


@dataclass
class Facts:
    """What a stretch of instructions does (see the module docstring for the terms)."""

    instructions: int = 0
    vector_width: int = 0
    """The widest register (bits) that a floating-point instruction uses: 128 xmm, 256 ymm, 512 zmm; 0 for none."""
    register: str = ""
    fma_packed: int = 0
    fma_scalar: int = 0
    adds_packed: int = 0
    adds_scalar: int = 0
    muls_packed: int = 0
    muls_scalar: int = 0
    paired_adds: int = 0
    """Adds and subtracts (among adds_packed + adds_scalar) that take a product from a multiply before them."""
    multiply_adds: int = 0
    """Lanes of multiply-adds: FMA lanes plus the lanes of the paired adds."""
    multiply_lanes: int = 0
    """Lanes of all multiplies (separate instructions, not FMAs)."""
    add_lanes: int = 0
    """Lanes of all adds and subtracts (separate instructions, not FMAs)."""
    exp_calls: list[str] = field(default_factory=list)
    """The exp routines called: `exp`/`expf` from the C library, one number a call; `__svml_exp…` vectorised."""
    prefetches: int = 0
    calls: int = 0
    """Call instructions (in a loop: calls made every iteration, e.g. to exp through a register)."""

    @property
    def instructions_per_multiply_add(self) -> float | None:
        return self.instructions / self.multiply_adds if self.multiply_adds else None

    @property
    def exp(self) -> str:
        """How exp is computed: "packed (SVML)", "scalar (C library)", or "none called" (inline arithmetic)."""
        if any(name.startswith("__svml") for name in self.exp_calls):
            return "packed (SVML)"
        return "scalar (C library)" if self.exp_calls else "none called"

    def as_dict(self) -> dict:
        return {**asdict(self), "instructions_per_multiply_add": self.instructions_per_multiply_add, "exp": self.exp}


@dataclass
class Loop:
    """A loop: the lines from its label to the backward jump that closes it (indices into a function's lines)."""

    label: str
    start: int
    end: int

    def contains(self, other: Loop) -> bool:
        return self.start <= other.start and other.end <= self.end and (self.start, self.end) != (other.start,
                                                                                                 other.end)


def functions(asm: str) -> dict[str, list[str]]:
    """Each function of the listing (a label that does not start with '.') and its lines, in order."""
    result: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in asm.splitlines():
        match = SYMBOL.match(line)
        if match:
            current = result.setdefault(match[1], [])
            continue
        if current is not None:
            current.append(line)
    return result


def loops(lines: list[str], label_syntax: re.Pattern = LABEL, jump_syntax: re.Pattern = JUMP) -> list[Loop]:
    """Every loop of a function: a label with a jump after it that goes back to it. The syntax of a label and of
    a jump (group 1: its target) is x86's unless told (PTX's: neuro/measure/ptx.py)."""
    labels = {}
    found = []
    for index, line in enumerate(lines):
        label = label_syntax.match(line)
        if label:
            labels[label[1]] = index
            continue
        jump = jump_syntax.match(line)
        if jump and jump[1] in labels:
            found.append(Loop(jump[1], labels[jump[1]], index))
    return found


def _lanes(width: int, precision: str, packed: bool) -> int:
    return width // LANE_BITS[precision] if packed else 1


def operands_of(text: str) -> list[str]:
    """The operands of an instruction, split at the commas outside a memory operand's parentheses, without the
    comment that may follow them."""
    text = text.split("#", 1)[0]
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [part for part in [*parts, current.strip()] if part]


def _register(operand: str) -> int | None:
    match = REGISTER_NUMBER.search(operand)
    return int(match[1]) if match and "(" not in operand else None


def facts(lines: list[str]) -> Facts:
    """Count what the instructions among `lines` do."""
    result = Facts()
    products: set[int] = set()  # (the vector registers that hold a product not yet added)
    for line in lines:
        if line.lstrip().startswith((".", "#")) or LABEL.match(line):
            continue
        match = INSTRUCTION.match(line)
        if not match:
            continue
        mnemonic, operands = match[1], operands_of(match[2])
        result.instructions += 1
        result.calls += mnemonic.startswith("call")
        if mnemonic.startswith("call") or mnemonic == "movabsq" or mnemonic.startswith("jmp"):
            exp = EXP_CALL.search(match[2])
            if exp:
                result.exp_calls.append(exp["symbol"].removesuffix("@PLT"))
        if PREFETCH.match(mnemonic):
            result.prefetches += 1
        registers = REGISTER.findall(match[2].split("#", 1)[0])
        width = max((WIDTHS[r] for r in registers), default=128)
        destination = _register(operands[-1]) if operands else None
        # a two-operand SSE instruction (addpd %xmm1, %xmm0) reads its destination; a VEX one does not
        sources = operands if len(operands) <= 2 else operands[:-1]
        sources = {number for number in map(_register, sources) if number is not None}
        fma, arithmetic = FMA.match(mnemonic), ARITHMETIC.match(mnemonic)
        operation = arithmetic[1] if arithmetic else ""
        if fma or arithmetic:
            kind, precision = (fma[3], fma[4]) if fma else (arithmetic[2], arithmetic[3])
            packed = kind == "p"
            if packed and width > result.vector_width:
                result.vector_width, result.register = width, {v: k for k, v in WIDTHS.items()}[width]
            elif not result.vector_width:
                result.vector_width, result.register = 128, "xmm"
            lanes = _lanes(width, precision, packed)
            if fma:
                result.fma_packed += packed
                result.fma_scalar += not packed
                result.multiply_adds += lanes
            elif operation in ("add", "sub"):
                result.adds_packed += packed
                result.adds_scalar += not packed
                result.add_lanes += lanes
                if sources & products:
                    result.paired_adds += 1
                    result.multiply_adds += lanes
                    products -= sources
            elif operation == "mul":
                result.muls_packed += packed
                result.muls_scalar += not packed
                result.multiply_lanes += lanes
        if destination is not None:
            products.discard(destination)
            if operation == "mul":
                products.add(destination)
    return result


def innermost(found: list[Loop]) -> list[Loop]:
    """The loops that hold no other loop."""
    return [loop for loop in found if not any(loop.contains(other) for other in found)]


def depth(loop: Loop, found: list[Loop]) -> int:
    """How many loops of `found` hold `loop` (0: an outermost loop)."""
    return sum(other.contains(loop) for other in found)


def hottest_loop(lines: list[str]) -> tuple[Loop, Facts] | None:
    """The innermost loop with the most multiply-adds per iteration (the weighted sums' main loop, where
    a compiler has also made prologue and remainder loops), then the most lanes of arithmetic (a loop of
    multiplies or adds only), ties to the shorter; None if no loop does floating-point arithmetic."""
    candidates = [(loop, facts(lines[loop.start : loop.end + 1])) for loop in innermost(loops(lines))]
    candidates = [(loop, f) for loop, f in candidates if f.multiply_adds + f.multiply_lanes + f.add_lanes]
    if not candidates:
        return None
    return max(candidates, key=lambda item: (item[1].multiply_adds, item[1].multiply_lanes + item[1].add_lanes,
                                             -item[1].instructions))
