//! String enums that keep values they do not know (`Other`), so that a new value from Pyrus
//! never breaks a plugin.

/// Defines a string enum with known variants and an `Other(String)` catch-all.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this SDK version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The wire form, e.g. `"approved"`.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::from(s.as_ref()))
            }
        }
    };
}

open_enum! {
    /// Why Pyrus called the bot. Real traffic always says `comment`; anything else is kept.
    Event {
        Comment = "comment",
        Close = "close",
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::Other(String::new())
    }
}

open_enum! {
    /// What kind of account a [`Person`](crate::Person) is.
    PersonType {
        User = "user",
        Bot = "bot",
        Role = "role",
    }
}

open_enum! {
    /// A decision on a workflow step.
    ApprovalChoice {
        Waiting = "waiting",
        Approved = "approved",
        Rejected = "rejected",
        Revoked = "revoked",
        Acknowledged = "acknowledged",
    }
}

open_enum! {
    /// Closing or reopening a task.
    Action {
        Finished = "finished",
        Reopened = "reopened",
    }
}

open_enum! {
    /// An external channel a comment is sent to or came from.
    ChannelType {
        Email = "email",
        Telegram = "telegram",
        Vk = "vk",
        Viber = "viber",
        WhatsApp = "whats_app",
        Sms = "sms",
        WebWidget = "web_widget",
        MobileApp = "mobile_app",
        PrivateChannel = "private_channel",
        Custom = "custom",
        MaxMessenger = "max_messenger",
    }
}

open_enum! {
    /// The type of a form field, which decides the shape of its value.
    FieldType {
        Text = "text",
        Money = "money",
        Number = "number",
        Date = "date",
        Time = "time",
        Checkmark = "checkmark",
        Flag = "flag",
        DueDate = "due_date",
        DueDateTime = "due_date_time",
        Catalog = "catalog",
        File = "file",
        Person = "person",
        Author = "author",
        Table = "table",
        MultipleChoice = "multiple_choice",
        Title = "title",
        FormLink = "form_link",
        Email = "email",
        Phone = "phone",
        Step = "step",
        Status = "status",
        Note = "note",
        CreationDate = "creation_date",
        Project = "project",
    }
}

impl Default for FieldType {
    fn default() -> Self {
        FieldType::Other(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_are_kept() {
        let e: Event = serde_json::from_str("\"task_created\"").unwrap();
        assert_eq!(e, Event::Other("task_created".into()));
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"task_created\"");
        let c: ApprovalChoice = serde_json::from_str("\"approved\"").unwrap();
        assert_eq!(c, ApprovalChoice::Approved);
    }
}
