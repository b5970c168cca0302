//! Comparison by value and exact addition of [`Numeric`] values (the verify step sums money).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::iter::Sum;
use std::ops::{Add, AddAssign};

use super::Numeric;

impl Numeric {
    /// -1, 0 or 1; both zeros give 0.
    fn signum(&self) -> i8 {
        match (self.is_zero(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }

    /// Compares absolute values, ignoring scale.
    fn cmp_magnitude(&self, other: &Numeric) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        // Neither has leading zeros, so more integer positions means a larger value.
        self.integer_positions()
            .cmp(&other.integer_positions())
            .then_with(|| {
                let common = self.digits.len().min(other.digits.len());
                self.digits[..common]
                    .cmp(&other.digits[..common])
                    .then_with(|| {
                        let self_rest = self.digits[common..].iter().any(|d| *d != 0);
                        let other_rest = other.digits[common..].iter().any(|d| *d != 0);
                        self_rest.cmp(&other_rest)
                    })
            })
    }

    /// The sum of `self` and `other`, exact, with the larger of the two scales.
    ///
    /// The result may exceed PostgreSQL's limits by a digit; encoding it then fails cleanly.
    pub fn add_exact(&self, other: &Numeric) -> Numeric {
        let scale = self.scale.max(other.scale);
        let left = aligned(self, scale);
        let right = aligned(other, scale);
        if self.negative == other.negative {
            return Numeric::normalized(self.negative, add_digits(&left, &right), scale);
        }
        match self.cmp_magnitude(other) {
            Ordering::Equal => Numeric {
                negative: false,
                digits: Vec::new(),
                scale,
            },
            Ordering::Greater => {
                Numeric::normalized(self.negative, sub_digits(&left, &right), scale)
            }
            Ordering::Less => Numeric::normalized(other.negative, sub_digits(&right, &left), scale),
        }
    }
}

/// The coefficient of `value` padded with zeros to `scale` fractional digits.
fn aligned(value: &Numeric, scale: u16) -> Vec<u8> {
    let mut digits = value.digits.clone();
    digits.resize(digits.len() + usize::from(scale - value.scale), 0);
    digits
}

/// Adds two digit strings (most significant first).
fn add_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let len = a.len().max(b.len());
    let mut out = Vec::with_capacity(len + 1);
    let mut carry = 0;
    for i in 0..len {
        let x = if i < a.len() { a[a.len() - 1 - i] } else { 0 };
        let y = if i < b.len() { b[b.len() - 1 - i] } else { 0 };
        let sum = x + y + carry;
        out.push(sum % 10);
        carry = sum / 10;
    }
    if carry > 0 {
        out.push(carry);
    }
    out.reverse();
    out
}

/// Subtracts `b` from `a`, where `a >= b` as numbers.
fn sub_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0;
    for i in 0..a.len() {
        let x = a[a.len() - 1 - i];
        let y = if i < b.len() { b[b.len() - 1 - i] } else { 0 } + borrow;
        if x >= y {
            out.push(x - y);
            borrow = 0;
        } else {
            out.push(x + 10 - y);
            borrow = 1;
        }
    }
    out.reverse();
    out
}

impl PartialEq for Numeric {
    fn eq(&self, other: &Numeric) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Numeric {}

impl PartialOrd for Numeric {
    fn partial_cmp(&self, other: &Numeric) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Numeric {
    /// Orders by numeric value: scale and the sign of zero do not matter.
    fn cmp(&self, other: &Numeric) -> Ordering {
        let (a, b) = (self.signum(), other.signum());
        match a.cmp(&b) {
            Ordering::Equal if a < 0 => other.cmp_magnitude(self),
            Ordering::Equal => self.cmp_magnitude(other),
            unequal => unequal,
        }
    }
}

impl Hash for Numeric {
    /// Hashes the value without trailing fractional zeros, so equal values hash alike.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let trailing = self.digits.iter().rev().take_while(|d| **d == 0).count();
        self.signum().hash(state);
        if self.is_zero() {
            return;
        }
        self.integer_positions().hash(state);
        self.digits[..self.digits.len() - trailing].hash(state);
    }
}

impl Add for Numeric {
    type Output = Numeric;

    fn add(self, other: Numeric) -> Numeric {
        self.add_exact(&other)
    }
}

impl<'a> Add<&'a Numeric> for &'a Numeric {
    type Output = Numeric;

    fn add(self, other: &'a Numeric) -> Numeric {
        self.add_exact(other)
    }
}

impl AddAssign<&Numeric> for Numeric {
    fn add_assign(&mut self, other: &Numeric) {
        *self = self.add_exact(other);
    }
}

impl Sum for Numeric {
    fn sum<I: Iterator<Item = Numeric>>(iter: I) -> Numeric {
        iter.fold(Numeric::zero(), |acc, n| acc.add_exact(&n))
    }
}

impl<'a> Sum<&'a Numeric> for Numeric {
    fn sum<I: Iterator<Item = &'a Numeric>>(iter: I) -> Numeric {
        iter.fold(Numeric::zero(), |acc, n| acc.add_exact(n))
    }
}
