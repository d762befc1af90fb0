package dev.metagen.meta.tools;

import java.math.BigDecimal;
import java.math.MathContext;

/**
 * A calculator tool (as in Toolformer, Schick et al., 2023): evaluates an arithmetic expression with + - * / % ^,
 * parentheses, unary minus and sqrt/abs/ln/exp by recursive descent, in double precision. No code is executed,
 * so the input cannot do anything but arithmetic.
 */
public final class Calculator implements Tool {
    private static final int MAX_INPUT = 10_000;

    /** A calculator (it keeps no state). */
    public Calculator() {
    }

    @Override
    public String name() {
        return "calculator";
    }

    @Override
    public ToolResult run(String input) {
        if (input.length() > MAX_INPUT) {
            return ToolResult.failed("expression longer than " + MAX_INPUT + " characters");
        }
        try {
            double v = new Parser(input).parseAll();
            if (Double.isNaN(v) || Double.isInfinite(v)) {
                return ToolResult.failed("the result is not a finite number");
            }
            return ToolResult.ok(format(v));
        } catch (IllegalArgumentException e) {
            return ToolResult.failed(dev.metagen.core.MetagenException.describe(e));
        }
    }

    /** Whole numbers without ".0"; others with up to 12 significant digits. */
    static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return new BigDecimal(v).round(new MathContext(12)).stripTrailingZeros().toPlainString();
    }

    private static final class Parser {
        private final String s;
        private int at;
        private int depth;

        Parser(String s) {
            this.s = s;
        }

        double parseAll() {
            double v = sum();
            skip();
            if (at < s.length()) {
                throw new IllegalArgumentException("unexpected '" + s.charAt(at) + "' at column " + (at + 1));
            }
            return v;
        }

        private void skip() {
            while (at < s.length() && Character.isWhitespace(s.charAt(at))) {
                at++;
            }
        }

        private boolean eat(char c) {
            skip();
            if (at < s.length() && s.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        private double sum() {
            double v = product();
            while (true) {
                if (eat('+')) {
                    v += product();
                } else if (eat('-')) {
                    v -= product();
                } else {
                    return v;
                }
            }
        }

        private double product() {
            double v = power();
            while (true) {
                if (eat('*')) {
                    v *= power();
                } else if (eat('/')) {
                    double d = power();
                    if (d == 0) {
                        throw new IllegalArgumentException("division by zero");
                    }
                    v /= d;
                } else if (eat('%')) {
                    v %= power();
                } else {
                    return v;
                }
            }
        }

        private double power() {
            double base = unary();
            if (eat('^')) {
                return Math.pow(base, power()); // right-associative
            }
            return base;
        }

        private double unary() {
            if (eat('-')) {
                return -unary();
            }
            if (eat('+')) {
                return unary();
            }
            return atom();
        }

        private double atom() {
            if (++depth > 200) {
                throw new IllegalArgumentException("expression nested too deeply");
            }
            try {
                skip();
                if (eat('(')) {
                    double v = sum();
                    if (!eat(')')) {
                        throw new IllegalArgumentException("missing ')' at column " + (at + 1));
                    }
                    return v;
                }
                int start = at;
                while (at < s.length() && Character.isLetter(s.charAt(at))) {
                    at++;
                }
                if (at > start) {
                    String f = s.substring(start, at);
                    if (!eat('(')) {
                        throw new IllegalArgumentException("expected '(' after " + f);
                    }
                    double x = sum();
                    if (!eat(')')) {
                        throw new IllegalArgumentException("missing ')' at column " + (at + 1));
                    }
                    return switch (f) {
                        case "sqrt" -> Math.sqrt(x);
                        case "abs" -> Math.abs(x);
                        case "ln" -> Math.log(x);
                        case "exp" -> Math.exp(x);
                        default -> throw new IllegalArgumentException("unknown function '" + f + "'");
                    };
                }
                while (at < s.length() && (Character.isDigit(s.charAt(at)) || s.charAt(at) == '.' || s.charAt(at) == ',')) {
                    at++;
                }
                if (at < s.length() && (s.charAt(at) == 'e' || s.charAt(at) == 'E') && at > start) {
                    at++;
                    if (at < s.length() && (s.charAt(at) == '-' || s.charAt(at) == '+')) {
                        at++;
                    }
                    while (at < s.length() && Character.isDigit(s.charAt(at))) {
                        at++;
                    }
                }
                if (at == start) {
                    throw new IllegalArgumentException(at < s.length() ? "unexpected '" + s.charAt(at) + "' at column " + (at + 1)
                            : "unexpected end of expression");
                }
                try {
                    return Double.parseDouble(s.substring(start, at).replace(",", ""));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad number '" + s.substring(start, at) + "' at column " + (start + 1));
                }
            } finally {
                depth--;
            }
        }
    }
}
