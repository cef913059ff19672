//! 投诉建议 as this phone shows it: the server's copy, or what was written here, with replies laid over.

use super::*;

/// A 投诉建议 as this phone shows it: the server's copy, or what was written here before it arrives, with a
/// reply written here laid over.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackItem {
    pub view: FeedbackView,
    pub mark: RowMark,
}

/// 投诉建议 newest first: the cache's, and the ones this phone wrote (`author`) that have not come back.
pub fn feedback_items(
    author: (i64, &str, &str),
    cache: &Cache,
    entries: &[Entry],
) -> Vec<FeedbackItem> {
    let (user_id, name, org_name) = author;
    let mut items: Vec<FeedbackItem> = cache
        .feedback
        .iter()
        .map(|v| FeedbackItem {
            view: v.clone(),
            mark: RowMark::None,
        })
        .collect();
    let mine: Vec<(&Entry, Change)> = entries
        .iter()
        .filter_map(|e| e.change().map(|c| (e, c)))
        .filter(|(_, c)| matches!(c, Change::Feedback(_) | Change::ReplyFeedback(_)))
        .collect();
    for (entry, change) in &mine {
        if let Change::Feedback(f) = change
            && entry.author == user_id
            && !items.iter().any(|i| i.view.id == f.feedback_id)
        {
            items.push(FeedbackItem {
                view: FeedbackView {
                    id: f.feedback_id.clone(),
                    user_id,
                    user_name: name.to_owned(),
                    org_name: org_name.to_owned(),
                    topic: f.topic,
                    body: f.body.trim().to_owned(),
                    created_at: entry.mutation.device_time,
                    ..FeedbackView::default()
                },
                mark: RowMark::None,
            });
        }
    }
    for item in &mut items {
        let id = item.view.id.clone();
        let about = mine.iter().filter(|(_, c)| match c {
            Change::Feedback(f) => f.feedback_id == id,
            Change::ReplyFeedback(r) => r.feedback_id == id,
            _ => false,
        });
        item.mark = lay_over(
            &mut item.view,
            |v| v.server_seq,
            about.map(|(e, c)| (*e, c.clone())),
            |v, c| {
                if let Change::ReplyFeedback(r) = c {
                    v.reply = Some(r.reply.trim().to_owned());
                }
            },
        );
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.view.created_at));
    items
}
