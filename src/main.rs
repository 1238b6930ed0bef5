//! The `ferry` binary: capture the environment, call the library, map the outcome to an exit code.

fn main() {
    let env: ferry::env::Env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let ctx = ferry::ci::detect(&env);
    println!("{ctx:?}");
}
