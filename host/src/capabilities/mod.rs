//! What a plugin may do beyond answering. Each capability is one module implementing
//! [`Capability`]: it owns its config keys and their validation (into its grant), links its
//! host functions once, builds its per-call state from the grant, says what it granted (for
//! `check`) and how a reload applies to it.
//!
//! The capabilities are registered in one place, the [`capabilities!`] list at the end of
//! this file; the per-call state ([`States`]), the grants ([`Grants`]), the host-wide
//! settings ([`Settings`]) and the process-wide instances ([`Capabilities`]) are composed
//! from it. Adding a capability is one new module plus one line there.
//!
//! Everything is denied by default: the linker gets every capability for every plugin, and
//! what a call may actually do is decided from its plugin's grant.

pub mod entry;
pub mod http;
pub mod keyvalue;
pub mod log;
pub mod stdio;
pub mod variables;

use std::fmt::Debug;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::WasiCtxBuilder;

pub use entry::{Entry, GrantError, Section};

/// One capability: its config, its host functions and its per-call state.
pub trait Capability: Sized + Send + Sync + 'static {
    /// Its name in `check` and in errors.
    const NAME: &'static str;
    /// The keys of a `[bots.NAME]` / `[extensions.NAME]` entry it reads.
    const KEYS: &'static [&'static str];
    /// The subset of [`Self::KEYS`] that `[defaults]` may set for every plugin.
    const DEFAULT_KEYS: &'static [&'static str] = &[];
    /// Its top-level config section (`[store]`), if it has one.
    const SECTION: Option<&'static str> = None;

    /// Host-wide settings (from [`Self::SECTION`]); compared across reloads.
    type Settings: Debug + Clone + PartialEq + Send + Sync + 'static;
    /// What one plugin is granted, resolved when the config loads. Cloned into each call's
    /// state, so it is cheap to clone.
    type Grant: Debug + Clone + Send + Sync + 'static;
    /// What one call holds, inside its store.
    type State: Send + 'static;

    /// Reads [`Self::SECTION`] (`None` when the config has none).
    fn settings(section: Section) -> Result<Self::Settings, GrantError>;

    /// Reads this capability's keys of one plugin entry.
    fn grant(entry: &mut Entry<'_>) -> Result<Self::Grant, GrantError>;

    /// Opens what the capability needs for the life of the process (a store backend).
    /// `grants` are every plugin's, so that nothing is opened that no plugin may use.
    #[allow(async_fn_in_trait)]
    async fn open(settings: &Self::Settings, grants: &[&Self::Grant]) -> anyhow::Result<Self>;

    /// A closed capability, for a process that could not open it: every use is refused.
    fn closed(settings: &Self::Settings) -> Self;

    /// Adds its host functions to the linker. Called once per engine.
    fn link<T: HasState<Self>>(linker: &mut Linker<T>) -> wasmtime::Result<()>;

    /// The state of one call of a plugin with `grant`.
    fn state(&self, grant: &Self::Grant) -> Self::State;

    /// Sets up the call's WASI context (e.g. where stdout goes). WASI itself denies
    /// everything; a capability only adds what it owns.
    fn configure_wasi(_state: &Self::State, _wasi: &mut WasiCtxBuilder) {}

    /// After the call, whatever happened (e.g. report what was capped).
    fn finish(_state: &Self::State) {}

    /// The most bytes one of its host functions may need from the plugin in one call (a
    /// store value): the call's transfer budget is at least this. Guests choose sizes, so
    /// the runtime refuses any larger transfer before copying it.
    fn max_transfer(_state: &Self::State) -> usize {
        0
    }

    /// What `check` prints of a grant, when it grants anything.
    fn describe(_grant: &Self::Grant) -> Option<String> {
        None
    }

    /// What `check` prints of the opened capability, if anything (`store: redb backend open`).
    fn status(&self) -> Option<String> {
        None
    }

    /// How a reload to `new` settings applies: `Some(note)` when it needs a restart.
    /// Grants always apply to the next call.
    fn reload_note(&self, _new: &Self::Settings, _new_grants: &[&Self::Grant]) -> Option<String> {
        None
    }
}

/// The host side of one call: the capabilities' states and the resource table they share
/// with WASI. The runtime's store data implements it.
pub trait CallData: Send + 'static {
    fn parts(&mut self) -> (&mut States, &mut ResourceTable);
}

/// What a host function of capability `C` sees of the call.
pub struct View<'a, S> {
    pub state: &'a mut S,
    pub table: &'a mut ResourceTable,
}

/// Store data that holds capability `C`'s state (implemented for every [`CallData`]).
pub trait HasState<C: Capability>: Send + 'static {
    fn view(&mut self) -> View<'_, C::State>;
}

/// `wasmtime::component::HasData` for a capability's view, for bindgen's `add_to_linker`.
pub struct ViewOf<C>(std::marker::PhantomData<C>);

impl<C: Capability> wasmtime::component::HasData for ViewOf<C> {
    type Data<'a> = View<'a, C::State>;
}

/// Registers the capabilities: one line each, `field: module::Type`.
macro_rules! capabilities {
    ($($field:ident: $cap:ty),* $(,)?) => {
        /// Every capability's host-wide settings.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Settings { $(pub $field: <$cap as Capability>::Settings,)* }

        /// Everything one plugin is granted.
        #[derive(Debug, Clone)]
        pub struct Grants { $(pub $field: <$cap as Capability>::Grant,)* }

        /// The capabilities' states of one call.
        pub struct States { $(pub $field: <$cap as Capability>::State,)* }

        /// The capabilities of this process, opened.
        pub struct Capabilities { $(pub $field: $cap,)* }

        $(
            impl<T: CallData> HasState<$cap> for T {
                fn view(&mut self) -> View<'_, <$cap as Capability>::State> {
                    let (states, table) = self.parts();
                    View { state: &mut states.$field, table }
                }
            }
        )*

        impl Settings {
            /// Reads every capability's section; `take` hands out a top-level section by
            /// name (and removes it, so that what is left is unknown).
            pub fn parse(
                mut take: impl FnMut(&'static str) -> Section,
            ) -> Result<Settings, GrantError> {
                Ok(Settings { $($field: <$cap>::settings(match <$cap>::SECTION {
                    Some(name) => take(name),
                    None => Section::none(),
                })?,)* })
            }

            /// The top-level sections the capabilities own.
            pub fn sections() -> Vec<&'static str> {
                [$(<$cap>::SECTION),*].into_iter().flatten().collect()
            }
        }

        impl Grants {
            /// Reads every capability's keys of one plugin entry.
            pub fn parse(entry: &mut Entry<'_>) -> Result<Grants, GrantError> {
                Ok(Grants { $($field: <$cap>::grant(entry)?,)* })
            }

            /// Whether `key` belongs to a capability (in a plugin entry, or in `[defaults]`).
            pub fn owns_key(key: &str, in_defaults: bool) -> bool {
                false $(|| if in_defaults {
                    <$cap>::DEFAULT_KEYS.contains(&key)
                } else {
                    <$cap>::KEYS.contains(&key)
                })*
            }

            /// What `check` prints: one item per capability that grants anything.
            pub fn describe(&self) -> Vec<String> {
                [$(<$cap>::describe(&self.$field)),*].into_iter().flatten().collect()
            }
        }

        impl Capabilities {
            /// Opens every capability. One that fails stays closed (its uses are refused)
            /// and its error is returned beside: `serve` stops on it, `check` reports it.
            pub async fn open<'a>(
                settings: &Settings,
                grants: impl Iterator<Item = &'a Grants> + Clone,
            ) -> (Capabilities, Vec<anyhow::Error>) {
                let mut errors = Vec::new();
                let caps = Capabilities { $($field: {
                    let all: Vec<_> = grants.clone().map(|g| &g.$field).collect();
                    match <$cap>::open(&settings.$field, &all).await {
                        Ok(cap) => cap,
                        Err(e) => {
                            errors.push(e.context(format!("{}", <$cap>::NAME)));
                            <$cap>::closed(&settings.$field)
                        }
                    }
                },)* };
                (caps, errors)
            }

            /// Every capability closed: for tools that run no plugin code.
            pub fn closed(settings: &Settings) -> Capabilities {
                Capabilities { $($field: <$cap>::closed(&settings.$field),)* }
            }

            /// Adds every capability's host functions to the linker.
            pub fn link<T: CallData>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
                $(<$cap>::link(linker)?;)*
                Ok(())
            }

            /// The states of one call of a plugin with `grants`.
            pub fn states(&self, grants: &Grants) -> States {
                States { $($field: self.$field.state(&grants.$field),)* }
            }

            /// A line for `check` per capability that has something to say.
            pub fn status(&self) -> Vec<String> {
                [$(self.$field.status()),*].into_iter().flatten().collect()
            }

            /// What a reload to `new` cannot apply without a restart.
            pub fn reload_notes<'a>(
                &self,
                new: &Settings,
                grants: impl Iterator<Item = &'a Grants> + Clone,
            ) -> Vec<String> {
                let mut notes = Vec::new();
                $({
                    let all: Vec<_> = grants.clone().map(|g| &g.$field).collect();
                    notes.extend(self.$field.reload_note(&new.$field, &all));
                })*
                notes
            }
        }

        impl States {
            /// Lets each capability set up the call's WASI context.
            pub fn configure_wasi(&self, wasi: &mut WasiCtxBuilder) {
                $(<$cap>::configure_wasi(&self.$field, wasi);)*
            }

            /// Lets each capability report on the call that ended.
            pub fn finish(&self) {
                $(<$cap>::finish(&self.$field);)*
            }

            /// The largest transfer any capability needs in one host call.
            pub fn max_transfer(&self) -> usize {
                [$(<$cap>::max_transfer(&self.$field)),*].into_iter().max().unwrap_or(0)
            }
        }
    };
}

capabilities! {
    log: log::Log,
    stdio: stdio::Stdio,
    keyvalue: keyvalue::KeyValue,
    variables: variables::Variables,
    http: http::OutboundHttp,
}
