//! Typed models of what Pyrus sends and what a plugin answers. They compile natively too, so
//! plugin logic can be unit-tested with plain `cargo test`.

mod comment;
pub(crate) mod de;
mod enums;
mod extension;
mod field;
mod id;
mod person;
mod reply;
mod request;
mod task;

pub use comment::{Channel, Comment};
pub use enums::{Action, ApprovalChoice, ChannelType, Event, FieldType, PersonType};
pub use extension::{
    AuthorizeReply, AuthorizeRequest, Credential, ExtensionRequest, SendMessageReply,
    SendMessageRequest, ToggleRequest,
};
pub use field::{
    Attachment, CatalogValue, Field, FieldKey, FieldUpdate, FieldValue, FormLink, MultipleChoice,
    Project, ProjectItem, TableRow, Title,
};
pub use id::Id;
pub use person::{Person, PersonRef};
pub use reply::{BotReply, ReplyChannel};
pub use request::{AccessToken, BotRequest};
pub use task::{Approval, Step, Subscriber, Task};
