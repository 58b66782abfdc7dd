//! Letters with their delivery state (staff; a unit: its own).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::{Page, Params};
use crate::auth::Actor;
use crate::db::letters::LetterFilter;
use crate::domain::letters::{self, KINDS};
use crate::error::AppResult;
use crate::state::AppState;

/// `GET /api/v1/letters`: filters `kind`, `unit`, `tracking_no`.
pub async fn list_letters(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut p = Params::new(query.into_inner(), &["kind", "unit", "tracking_no"]);
    let (page, per_page) = p.paging(50);
    let kind = p.choice("kind", KINDS);
    let unit = p.text("unit", 16);
    let tracking_no = p.text("tracking_no", 40);
    p.finish()?;
    let (items, total) = state
        .db(move |c| {
            let complaint_id = match &tracking_no {
                Some(no) => {
                    Some(crate::db::complaints::by_tracking_no(c, no)?.map_or(-1, |x| x.id))
                }
                None => None,
            };
            let filter = LetterFilter {
                unit,
                kind,
                complaint_id,
            };
            letters::list_letters(c, &actor, filter, page, per_page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// `GET /api/v1/letters/{id}`.
pub async fn get_letter(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let letter = state
        .db(move |c| letters::get_letter(c, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(letter))
}
