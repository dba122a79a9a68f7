//! sep24-interactive: work in progress (issue 5).
