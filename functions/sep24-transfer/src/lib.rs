//! sep24-transfer: work in progress (issue 5).
