pub struct IgnoreMatcher;
