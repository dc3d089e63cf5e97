//! Which instruction fields BuildKit expands with the single-word expander
//! (`SupportsSingleWordExpansion`) before dispatching an instruction.

use super::{Instruction, Transfer};

fn each<E>(values: &mut [String], f: &mut dyn FnMut(&str) -> Result<String, E>) -> Result<(), E> {
    for v in values {
        *v = f(v)?;
    }
    Ok(())
}

fn opt<E>(
    value: &mut Option<String>,
    f: &mut dyn FnMut(&str) -> Result<String, E>,
) -> Result<(), E> {
    if let Some(v) = value {
        *v = f(v)?;
    }
    Ok(())
}

fn transfer<E>(t: &mut Transfer, f: &mut dyn FnMut(&str) -> Result<String, E>) -> Result<(), E> {
    opt(&mut t.chown, f)?;
    each(&mut t.sources, f)?;
    t.dest = f(&t.dest)?;
    Ok(())
}

impl Instruction {
    /// Expands the fields BuildKit's `Expand` methods cover, each value as one word
    /// (pass [`crate::expand::Lex::process_word`] with the file's escape character):
    /// ENV and LABEL keys and values; ARG names and defaults; WORKDIR; USER; VOLUME
    /// paths; STOPSIGNAL; COPY/ADD sources, destination and `--chown`; ADD
    /// `--checksum`. Left to the builder, as in BuildKit: RUN/CMD/ENTRYPOINT/SHELL/
    /// HEALTHCHECK/ONBUILD/MAINTAINER (the shell expands them), FROM (expanded with the
    /// meta ARGs), EXPOSE (several words), COPY `--from` and `--chmod`, RUN `--mount`
    /// values (see [`super::parse_mount`]) and heredoc contents (see
    /// [`Instruction::expand_heredoc_contents`]).
    ///
    /// Returns whether the instruction has expandable fields.
    pub fn expand_words<E>(
        &mut self,
        f: &mut dyn FnMut(&str) -> Result<String, E>,
    ) -> Result<bool, E> {
        match self {
            Instruction::Env(kvs) | Instruction::Label(kvs) => {
                for kv in kvs {
                    kv.key = f(&kv.key)?;
                    kv.value = f(&kv.value)?;
                }
            }
            Instruction::Arg(defs) => {
                for def in defs {
                    def.name = f(&def.name)?;
                    opt(&mut def.default, f)?;
                }
            }
            Instruction::Workdir(s) | Instruction::User(s) | Instruction::StopSignal(s) => {
                *s = f(s)?;
            }
            Instruction::Volume(vs) => each(vs, f)?,
            Instruction::Copy(c) => transfer(&mut c.transfer, f)?,
            Instruction::Add(a) => {
                opt(&mut a.checksum, f)?;
                transfer(&mut a.transfer, f)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Expands COPY/ADD heredoc contents whose delimiter was not quoted. BuildKit's
    /// `ExpandRaw` does this with `Lex::new('\\')` and `skip_process_quotes` set, so
    /// quotes in the content stay; pass such an expander.
    pub fn expand_heredoc_contents<E>(
        &mut self,
        f: &mut dyn FnMut(&str) -> Result<String, E>,
    ) -> Result<(), E> {
        let transfer = match self {
            Instruction::Copy(c) => &mut c.transfer,
            Instruction::Add(a) => &mut a.transfer,
            _ => return Ok(()),
        };
        for content in &mut transfer.contents {
            if content.expand {
                content.data = f(&content.data)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::expand::{Env, ExpandError, Lex};
    use crate::instructions::{Instruction, parse_instruction};

    fn expanded(src: &str) -> Instruction {
        let df = crate::parse(src.as_bytes()).unwrap();
        let mut ins = parse_instruction(&df.nodes[0]).unwrap();
        let env = Env::from_pairs([("V", "x y"), ("U", "1000")]);
        let lex = Lex::new(df.escape);
        let mut f = |w: &str| -> Result<String, ExpandError> { lex.process_word(w, &env) };
        ins.expand_words(&mut f).unwrap();
        ins
    }

    #[test]
    fn expands_the_right_fields() {
        let Instruction::Env(kv) = expanded("ENV A_$U=\"$V\"") else {
            panic!()
        };
        assert_eq!(
            (kv[0].key.as_str(), kv[0].value.as_str()),
            ("A_1000", "x y")
        );
        let Instruction::Copy(c) = expanded("COPY --chown=$U --from=s$U a$U \"$V\"") else {
            panic!()
        };
        assert_eq!(c.transfer.chown.as_deref(), Some("1000"));
        assert_eq!(c.from.as_deref(), Some("s$U"));
        assert_eq!(c.transfer.sources, vec!["a1000"]);
        assert_eq!(c.transfer.dest, "x y");
        let mut copy = expanded("COPY <<A <<'B' /d\n\"$U\"\nA\n$U\nB\n");
        let Instruction::Copy(c) = &copy else {
            panic!()
        };
        assert_eq!(
            c.transfer.contents[0].data, "\"$U\"\n",
            "not touched by expand_words"
        );
        let mut raw = Lex::new('\\');
        raw.skip_process_quotes = true;
        let env = Env::from_pairs([("U", "1000")]);
        let mut f = |w: &str| -> Result<String, ExpandError> { raw.process_word(w, &env) };
        copy.expand_heredoc_contents(&mut f).unwrap();
        let Instruction::Copy(c) = copy else { panic!() };
        assert_eq!(c.transfer.contents[0].data, "\"1000\"\n");
        assert_eq!(c.transfer.contents[1].data, "$U\n");
        assert_eq!(
            expanded("WORKDIR /$U"),
            Instruction::Workdir("/1000".into())
        );
        let Instruction::Run(r) = expanded("RUN echo $U") else {
            panic!()
        };
        assert_eq!(
            r.cmd,
            crate::instructions::ShellOrExec::Shell("echo $U".into())
        );
    }
}
