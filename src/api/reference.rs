//! Reference data the public form needs: units and categories.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::responses::{Invalid, Unavailable};
use super::{Page, Params};
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct UnitView {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_code: Option<String>,
    pub leader_name: String,
    pub leader_title: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CategoryView {
    pub code: String,
    pub name: String,
    pub aspect: String,
    pub ack_workdays: i32,
    pub handle_workdays: i32,
}

#[utoipa::path(
    get,
    path = "/api/v1/units",
    tag = "reference",
    summary = "Units (for the form)",
    params(
        crate::api::responses::ReferencePaging,
    ),
    responses(
        (status = 200, description = "Active units", body = crate::api::Page<crate::api::reference::UnitView>),
        Invalid, Unavailable,
    ),
)]
pub async fn list_units(
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut params = Params::new(query.into_inner(), &[]);
    let (page, per_page) = params.paging(super::MAX_PER_PAGE);
    params.finish()?;
    let (offset, limit) = crate::db::page_window(page, per_page);
    let (units, total) = state
        .db(move |c| Ok(crate::db::units::list(c, offset, limit)?))
        .await?;
    let items = units
        .into_iter()
        .map(|u| UnitView {
            code: u.code,
            name: u.name,
            kind: u.kind,
            parent_code: u.parent_code,
            leader_name: u.leader_name,
            leader_title: u.leader_title,
        })
        .collect();
    Ok(Page::answer(items, total, page, per_page))
}

#[utoipa::path(
    get,
    path = "/api/v1/categories",
    tag = "reference",
    summary = "Categories (for the form)",
    params(
        crate::api::responses::ReferencePaging,
    ),
    responses(
        (status = 200, description = "Active categories", body = crate::api::Page<crate::api::reference::CategoryView>),
        Invalid, Unavailable,
    ),
)]
pub async fn list_categories(
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut params = Params::new(query.into_inner(), &[]);
    let (page, per_page) = params.paging(super::MAX_PER_PAGE);
    params.finish()?;
    let (offset, limit) = crate::db::page_window(page, per_page);
    let (cats, total) = state
        .db(move |c| Ok(crate::db::categories::list(c, offset, limit)?))
        .await?;
    let items = cats
        .into_iter()
        .map(|c| CategoryView {
            code: c.code,
            name: c.name,
            aspect: c.aspect,
            ack_workdays: c.ack_workdays,
            handle_workdays: c.handle_workdays,
        })
        .collect();
    Ok(Page::answer(items, total, page, per_page))
}
